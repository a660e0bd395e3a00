"""The typed contract of the API: response models, the error body and documented errors.

Routers name these models in ``response_model=`` and the error statuses an
operation can answer in ``responses=errors(...)``; :func:`install_contract`
completes the OpenAPI document in one place: 401/403 from the access rules
(:mod:`api.access`), 503 (database down) on every operation that reaches the
database, and the real error body instead of FastAPI's default 422 schema.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field

from api.access import rule_for


class Model(BaseModel):
    """Base of the response models: bodies may grow new members (clients ignore them)."""

    model_config = ConfigDict(extra="allow")


# ---------------------------------------------------------------- errors


class ErrorBody(BaseModel):
    """Every error response: a machine-readable kind and a sentence naming the problem."""

    error: str = Field(..., examples=["invalid_input"], description="Kind of error.")
    detail: str = Field(
        ..., examples=["lat: Input should be a valid number"], description="What is wrong."
    )
    details: Any = Field(
        None, description="Machine-readable details (offending rows, validation problems)."
    )


ERROR_TEXT: dict[int, tuple[str, str, str]] = {
    400: ("Bad request", "bad_request", "the request cannot be understood"),
    401: (
        "Missing, malformed or unknown bearer token",
        "unauthorized",
        "this endpoint requires `Authorization: Bearer <token>`",
    ),
    403: (
        "The token's role or grids do not allow this",
        "forbidden",
        "role 'planner' may not read /v1/events; it needs one of: admin, analyst, worker",
    ),
    404: ("Not found", "not_found", "grid 330109001001999 does not exist in generation 1"),
    409: (
        "Conflicts with the current state",
        "conflict",
        "action 'dispatch' is not allowed in state 'closed'; allowed: evaluate",
    ),
    413: (
        "Upload or batch above the configured limit",
        "payload_too_large",
        "120000 points exceed the batch limit of 100000",
    ),
    422: ("Invalid input; the detail names the field or row", "invalid_input", "lat: ..."),
    503: (
        "The database is unavailable",
        "database_unavailable",
        "the database is unavailable; check that PostGIS is running",
    ),
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries documenting error statuses with :class:`ErrorBody`.

    Examples
    --------
    >>> sorted(errors(404, 409))
    [404, 409]
    """
    return {
        status: {
            "model": ErrorBody,
            "description": ERROR_TEXT[status][0],
            "content": {
                "application/json": {
                    "example": {"error": ERROR_TEXT[status][1], "detail": ERROR_TEXT[status][2]}
                }
            },
        }
        for status in statuses
    }


# ---------------------------------------------------------------- health


class LocateIndexInfo(Model):
    """The in-memory locate index of the active generation."""

    generation: str
    units: int
    memory_mb: float


class DatabaseInfo(Model):
    """PostgreSQL version and the applied schema revision."""

    postgresql: str
    schema_: str | None = Field(None, alias="schema")


class Health(Model):
    """``GET /healthz``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ok",
                    "gridgeo": "0.1.0",
                    "database": {"postgresql": "16.4", "schema": "0007"},
                    "postgis": "3.4.2",
                    "locate_index": {"generation": "1", "units": 2154, "memory_mb": 61.2},
                }
            ]
        }
    )

    status: Literal["ok", "degraded"]
    gridgeo: str
    database: DatabaseInfo
    postgis: str | None
    locate_index: LocateIndexInfo | None


# ---------------------------------------------------------------- GeoJSON


class Geometry(Model):
    """A GeoJSON geometry (lon/lat, RFC 7946)."""

    type: str = Field(..., examples=["Polygon"])
    coordinates: list[Any]


class PointGeometry(Model):
    """A GeoJSON point."""

    type: Literal["Point"]
    coordinates: list[float] = Field(..., min_length=2, max_length=3)


class UnitProperties(Model):
    """Attributes of a grid unit."""

    code: str = Field(..., examples=["330109001001001"])
    parent_code: str | None
    level: Literal["district", "street", "community", "grid", "microgrid"] | str
    kind: str = Field(..., examples=["base"])
    name: str | None
    population: int | None
    households: int | None
    full_time_workers: int | None
    part_time_workers: int | None


class UnitFeature(Model):
    """One grid unit as a GeoJSON Feature (``GET /v1/grids/{code}``)."""

    type: Literal["Feature"]
    id: str
    properties: UnitProperties
    geometry: Geometry | None
    generation: str | None = None


class UnitCollection(Model):
    """Grid units as a GeoJSON FeatureCollection (``GET /v1/grids``)."""

    type: Literal["FeatureCollection"]
    generation: str
    features: list[UnitFeature]


class LayerFeature(Model):
    """A feature of an analysis layer (a grid or an H3 cell)."""

    type: Literal["Feature"]
    id: str | int | None = None
    properties: dict[str, Any]
    geometry: Geometry | None


class AnalysisLayer(Model):
    """An analysis as a GeoJSON FeatureCollection with its parameters."""

    type: Literal["FeatureCollection"]
    features: list[LayerFeature]
    parameters: dict[str, Any] = Field(default_factory=dict)


# ---------------------------------------------------------------- locate


class UnitSummary(Model):
    """A unit in a locate answer."""

    code: str
    name: str | None
    level: str
    kind: str


class NearestUnit(UnitSummary):
    """The nearest grid of a point outside every grid (``within=``)."""

    distance_m: float


class LocatedPoint(Model):
    """The point as the client sent it."""

    lon: float
    lat: float
    crs: str


class LocateAnswer(Model):
    """``GET /v1/locate`` (DESIGN section 4)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "generation": "1",
                    "point": {"lon": 120.2601, "lat": 30.1852, "crs": "gcj02"},
                    "owner": {
                        "code": "330109001001001",
                        "name": "城厢街道第一社区第1网格",
                        "level": "grid",
                        "kind": "base",
                    },
                    "chain": [
                        {"code": "330109", "name": "萧山区", "level": "district", "kind": "base"},
                        {
                            "code": "330109001001001",
                            "name": "城厢街道第一社区第1网格",
                            "level": "grid",
                            "kind": "base",
                        },
                    ],
                    "special_grids": [],
                    "on_boundary": False,
                }
            ]
        }
    )

    generation: str
    point: LocatedPoint
    owner: UnitSummary | None
    chain: list[UnitSummary]
    special_grids: list[UnitSummary]
    on_boundary: bool
    nearest: NearestUnit | None = Field(None, description="Only with `within=` and a grid near.")


class BatchItem(Model):
    """One point of a batch answer, in input order."""

    owner: str | None
    chain: list[str]
    on_boundary: bool
    id: Any = Field(None, description="The `id` column of a CSV body, when given.")


class LocateBatchAnswer(Model):
    """``POST /v1/locate``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "generation": "1",
                    "results": [
                        {
                            "owner": "330109001001001",
                            "chain": ["330109", "330109001", "330109001001", "330109001001001"],
                            "on_boundary": False,
                        },
                        {"owner": None, "chain": [], "on_boundary": False},
                    ],
                }
            ]
        }
    )

    generation: str
    results: list[BatchItem]


# ---------------------------------------------------------------- codes and generations


class CodeAppearance(Model):
    """A generation holding the code."""

    generation: str
    label: str
    status: str
    valid_from: datetime | None
    valid_to: datetime | None
    name: str | None
    level: str
    kind: str


class CodeRegistryState(Model):
    """The code's registry entry."""

    status: str
    first_generation: str | None
    retired_generation: str | None
    retired_at: datetime | None


class LineageLink(Model):
    """A split/merge relation of the code."""

    generation: str
    code: str
    relation: str
    related_code: str | None


class CodeHistory(Model):
    """``GET /v1/codes/{code}/history``."""

    code: str
    registry: CodeRegistryState | None
    generations: list[CodeAppearance]
    lineage: list[LineageLink]


class GenerationOut(Model):
    """A generation of boundaries."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "2",
                    "label": "2026-redraw",
                    "status": "draft",
                    "created_at": "2026-10-01T08:00:00Z",
                    "valid_from": None,
                    "valid_to": None,
                    "parent": "1",
                    "note": "split of 330109001083003",
                    "forced_reason": None,
                }
            ]
        }
    )

    id: str
    label: str
    status: Literal["draft", "validated", "published", "retired"] | str
    created_at: datetime
    valid_from: datetime | None
    valid_to: datetime | None
    parent: str | None
    note: str | None
    forced_reason: str | None


class ImportSummaryOut(Model):
    """A new draft generation made by an import or a redraw."""

    generation: str
    label: str
    units: int
    by_level: dict[str, int]
    coded: int
    lineage: int
    notes: dict[str, Any]


class ValidationIssue(Model):
    """One problem found by validation."""

    severity: str
    rule: str
    codes: list[str]
    message: str
    location: list[float] | None
    area_m2: float | None
    geometry_wkt: str | None
    rows: list[int]
    details: dict[str, Any]


class ValidationReportOut(Model):
    """A validation report (``…/validate``, ``…/report``)."""

    ok: bool
    checked: int
    errors: int
    warnings: int
    counts: dict[str, Any]
    issues: list[ValidationIssue]
    repaired: bool | None = None
    changes: list[dict[str, Any]] = []
    by_kind: list[dict[str, Any]] | None = Field(
        None, description="Findings grouped by kind, with how many are new and shown."
    )
    changed_only: bool | None = None


class Reattribution(Model):
    """Events owned by ``from_code`` that the new generation gives to ``to_code``."""

    from_code: str | None
    to_code: str | None
    events: int


class GenerationDiff(Model):
    """``GET /v1/generations/{old}/diff/{new}``: per level, never summed across levels."""

    added: list[str]
    removed: list[str]
    unchanged: int
    totals: dict[str, Any] = Field(..., description="Figures per level.")
    old_generation: str
    new_generation: str
    events_reattributed: dict[str, Any] = Field(
        ..., description="``total``, ``by_level`` and the largest ``flows`` of events."
    )


# ---------------------------------------------------------------- events


class Transition(Model):
    """One step of an event's history."""

    seq: int
    action: str
    from_state: str | None
    to_state: str
    at: datetime
    actor: str | None
    comment: str | None


class EventProperties(Model):
    """An event's attributes (personal data: description, reporter, history)."""

    event_id: str = Field(..., examples=["E202610010000001"])
    external_id: str | None
    category_code: str
    category_l1: str | None
    category_l2: str | None
    source: str
    reported_at: datetime
    lon: float
    lat: float
    crs: str
    description: str | None
    reporter: str | None
    status: str
    owner_code: str | None
    owner_generation_id: str | None
    department: str | None
    due_at: datetime | None
    deferred_hours: float | None
    registered_at: datetime | None
    dispatched_at: datetime | None
    handled_at: datetime | None
    closed_at: datetime | None
    allowed_actions: list[str]
    overdue: bool
    history: list[Transition] | None = Field(None, description="One event only.")


class EventFeature(Model):
    """An event as a GeoJSON Feature."""

    type: Literal["Feature"]
    id: str
    geometry: PointGeometry
    properties: EventProperties


class EventCollection(Model):
    """``GET /v1/events``: newest first, with the total before paging."""

    type: Literal["FeatureCollection"]
    total: int
    features: list[EventFeature]


class RejectedRow(Model):
    """A row of an uploaded file that was not stored, and why."""

    row: int
    reason: str
    field: str | None = None


class EventImportSummary(Model):
    """``POST /v1/events/import``."""

    stored: int
    skipped_existing: int
    rejected: list[RejectedRow]


class OverdueRow(Model):
    """An open event past its due time."""

    event_id: str
    grid_code: str | None = None
    category_code: str | None = None
    status: str | None = None
    due_at: datetime | None = None
    overdue_hours: float | None = None


class IndicatorRow(Model):
    """Indicators of one grid, street or department (rates null when undefined)."""

    grid_code: str | None = None
    street_code: str | None = None
    department: str | None = None
    reported: int
    registered: int
    cancelled: int
    closed: int
    due: int
    deferred: int
    closed_on_time: int
    due_closed: int
    overdue: int
    overdue_open: int
    on_time_closure_rate: float | None
    closure_rate: float | None
    mean_handling_hours: float | None


# ---------------------------------------------------------------- tracks and users


class TrackUpload(Model):
    """``POST /v1/tracks``."""

    stored: int
    rejected: list[RejectedRow]


class WorkerCoverage(Model):
    """巡查覆盖率 of one worker (personal data)."""

    worker_id: str
    assigned_code: str | None
    area_code: str | None
    patrols: int | None
    patrol_time_h: float | None
    inside_share: float | None
    cells_total: int | None
    cells_visited: int | None
    coverage_share: float | None
    last_patrol: str | None


class AuthenticityFlag(Model):
    """A patrol flagged for review (personal data)."""

    worker_id: str
    patrol_key: str
    kind: str
    reason: str
    evidence: dict[str, Any]
    start: str | None
    end: str | None


class StoredFlag(AuthenticityFlag):
    """A stored authenticity flag with its review state."""

    id: int
    state: str
    reviewed_by: str | None = None
    reviewed_at: str | None = None
    note: str | None = None


class FlagsRefreshed(Model):
    """How many flags a refresh stored."""

    stored: int


class UserOut(Model):
    """A user (never the token)."""

    name: str
    role: str
    grids: list[str]
    disabled: bool


class NewUserOut(Model):
    """A new user with their token, shown once."""

    name: str
    role: str
    grids: list[str]
    token: str


# ---------------------------------------------------------------- OpenAPI completion


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }


NO_DATABASE = {("GET", "/maps/")}
"""Operations that never touch the database (no 503)."""


def complete_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Add auth, 422 and 503 error responses with the real error body to ``schema``.

    Parameters
    ----------
    schema : dict
        An OpenAPI document generated by FastAPI (changed in place).

    Returns
    -------
    dict
        The same document.
    """
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorBody"] = ErrorBody.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    security = schema["components"].setdefault("securitySchemes", {})
    security["bearer"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "Token from `gridgeo users add` or `POST /v1/users`.",
    }
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            rule = rule_for(method, path)
            if rule is None:
                continue
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = _error_response(ERROR_TEXT[422][0])
            if rule.kind != "public":
                text = ERROR_TEXT[401][0]
                if rule.kind == "open":
                    text += " (only with GRIDGEO_OPEN_READS=false)"
                responses.setdefault("401", _error_response(text))
                operation["security"] = (
                    [{"bearer": []}] if rule.needs_token else [{}, {"bearer": []}]
                )
            if rule.needs_token:
                responses.setdefault("403", _error_response(ERROR_TEXT[403][0]))
            if (method.upper(), path) not in NO_DATABASE:
                responses.setdefault("503", _error_response(ERROR_TEXT[503][0]))
            for code, response in responses.items():
                if code.startswith(("4", "5")):  # errors are JSON, even on HTML pages
                    example = response.get("content", {}).get("application/json", {}).get("example")
                    body: dict[str, Any] = {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
                    if example is not None:
                        body["example"] = example
                    response["content"] = {"application/json": body}
            access = {
                "public": "Open to everyone.",
                "open": "Open unless GRIDGEO_OPEN_READS=false (then any valid token).",
                "personal": "Personal data: token of role "
                + ", ".join(sorted({*rule.roles, "admin"}))
                + (" (workers: their own grids only)." if rule.scoped else "."),
                "write": "Token of role "
                + ", ".join(sorted({*rule.roles, "admin"}))
                + (" (workers: inside their own grids)." if rule.scoped else "."),
            }[rule.kind]
            operation["description"] = (
                operation.get("description", "").rstrip() + f"\n\n**Access:** {access}"
            ).strip()
    return schema


def install_contract(app: FastAPI) -> None:
    """Serve the completed OpenAPI document from ``/openapi.json``."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete_openapi(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


GEOJSON: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "application/geo+json": {"schema": {"$ref": "#/components/schemas/AnalysisLayer"}}
        }
    }
}
"""The 200 of the analyses is GeoJSON (``application/geo+json``)."""

EXPORT_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The generation's units as a file (GeoJSON, GeoPackage, zipped "
        "Shapefile or GeoParquet, by `format`).",
        "content": {
            "application/geo+json": {"schema": {"type": "object"}},
            **{
                media: {"schema": {"type": "string", "format": "binary"}}
                for media in (
                    "application/geopackage+sqlite3",
                    "application/zip",
                    "application/vnd.apache.parquet",
                    "application/octet-stream",
                )
            },
        },
    }
}
"""The 200 of ``GET /v1/generations/{ref}/export``."""


# ---------------------------------------------------------------- OGC API and tiles


class OgcLink(Model):
    """A link of an OGC API document."""

    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class OgcLanding(Model):
    """The OGC API landing page (``GET /``)."""

    title: str
    description: str | None = None
    links: list[OgcLink]


class OgcConformance(Model):
    """The conformance declaration (``GET /conformance``)."""

    conformsTo: list[str]  # noqa: N815 - the OGC member name


class OgcCollection(Model):
    """One feature collection (a level of the published generation)."""

    id: str
    title: str | None = None
    links: list[OgcLink]


class OgcCollections(Model):
    """The feature collections (``GET /collections``)."""

    links: list[OgcLink]
    collections: list[OgcCollection]


class OgcFeature(Model):
    """One feature of a collection (GeoJSON)."""

    type: Literal["Feature"]
    id: str | int | None = None
    properties: dict[str, Any] | None
    geometry: Geometry | None


class OgcFeatureCollection(Model):
    """A page of features of a collection (GeoJSON, with paging links)."""

    type: Literal["FeatureCollection"]
    features: list[OgcFeature]
    numberMatched: int | None = None  # noqa: N815 - the OGC member name
    numberReturned: int | None = None  # noqa: N815 - the OGC member name
    links: list[OgcLink] = []


class TileJSON(Model):
    """TileJSON 3.0.0 of the vector tiles (``GET /tiles.json``)."""

    tilejson: str
    tiles: list[str]
