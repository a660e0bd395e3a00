"""Who may call what: the one access-rule table of the API (DESIGN sections 1 and 12).

Every operation of the API has exactly one :class:`Rule` in :data:`RULES`,
keyed by method and path template; ``create_app`` refuses to build an app
with a route that has none, and ``tests/api/test_access.py`` checks every
operation of ``/openapi.json`` against the table.

Kinds of rule
-------------
``public``
    Always open (``/healthz``: versions only, for probes).
``open``
    Boundaries, codes, generations (list, report, diff, export), locate and
    the maps and analyses of aggregates: open while ``GRIDGEO_OPEN_READS`` is
    true (the default); with ``GRIDGEO_OPEN_READS=false`` any valid token of
    any role is needed (401 without).
``personal``
    Reads of personal data: events (list, one event with its history,
    overdue), indicators, worker coverage, authenticity flags, users. A
    bearer token of one of ``roles`` is needed (admin always): 401 without a
    valid token, 403 for another role. With ``scoped``, a worker sees only
    their own grids (the grids bound to the token and their micro-grids):
    lists are filtered to them and naming another grid's object is 403.
``write``
    Writes: a token of one of ``roles`` (admin always); 401 / 403 likewise.

Roles (DESIGN section 1): analysts (研判) read events, indicators, coverage
and flags; grid workers read those of their own grids; planners draw
boundaries and read no personal data (a redraw's diff counts events per
grid, an aggregate); admins read everything, users included.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from api.deps import get_principal
from gridgeo.errors import Forbidden, Unauthorized
from gridgeo.store.users import Principal, principal_for_token

Kind = Literal["public", "open", "personal", "write"]
READERS = ("analyst", "worker")
"""Roles (besides admin) that read events, indicators, coverage and flags."""


@dataclass(frozen=True)
class Rule:
    """Access rule of one operation.

    Attributes
    ----------
    kind : {"public", "open", "personal", "write"}
    roles : tuple of str
        Roles admitted besides admin (personal and write rules).
    scoped : bool
        Workers see only their own grids.
    """

    kind: Kind
    roles: tuple[str, ...] = ()
    scoped: bool = False

    @property
    def needs_token(self) -> bool:
        """Whether a token is needed even when reads are open."""
        return self.kind in ("personal", "write")

    def admits(self, role: str) -> bool:
        """Whether a caller of ``role`` may call the operation (scope aside)."""
        return self.kind in ("public", "open") or role == "admin" or role in self.roles


PUBLIC = Rule("public")
OPEN = Rule("open")
PERSONAL = Rule("personal", READERS, scoped=True)
ADMIN_ONLY_READ = Rule("personal", ())
REVIEWERS = Rule("personal", ("analyst",))
"""Authenticity flags one by one, their review and map: analysts and admins."""


def _write(*roles: str, scoped: bool = False) -> Rule:
    return Rule("write", roles, scoped=scoped)


RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/favicon.ico"): PUBLIC,
    ("GET", "/bench/locate-postgis"): OPEN,  # only with GRIDGEO_BASELINE_ENDPOINTS
    # boundaries, codes and generations
    ("GET", "/v1/grids"): OPEN,
    ("GET", "/v1/grids/{code}"): OPEN,
    ("GET", "/v1/codes/{code}/history"): OPEN,
    ("GET", "/v1/generations"): OPEN,
    ("GET", "/v1/generations/{ref}/report"): OPEN,
    ("GET", "/v1/generations/{old}/diff/{new}"): OPEN,
    ("GET", "/v1/generations/{ref}/export"): OPEN,
    ("POST", "/v1/generations"): _write("planner"),
    ("POST", "/v1/generations/import"): _write("planner"),
    ("POST", "/v1/generations/{ref}/validate"): _write("planner"),
    ("POST", "/v1/generations/{ref}/publish"): _write("planner"),
    ("POST", "/v1/generations/{ref}/redraw"): _write("planner"),
    # locate (a POST that only reads)
    ("GET", "/v1/locate"): OPEN,
    ("POST", "/v1/locate"): OPEN,
    # analyses and maps of aggregates (per grid or H3 cell, no person named)
    ("GET", "/v1/analytics/hotspots"): OPEN,
    ("GET", "/v1/analytics/emerging"): OPEN,
    ("GET", "/v1/analytics/coverage"): OPEN,
    ("GET", "/maps/"): OPEN,
    ("GET", "/maps/grids"): OPEN,
    ("GET", "/maps/hotspots"): OPEN,
    ("GET", "/maps/emerging"): OPEN,
    ("GET", "/maps/coverage"): OPEN,
    # personal data
    ("GET", "/v1/events"): PERSONAL,
    ("GET", "/v1/events/overdue"): PERSONAL,
    ("GET", "/v1/events/{event_id}"): PERSONAL,
    ("GET", "/v1/indicators"): PERSONAL,
    ("GET", "/v1/tracks/coverage"): PERSONAL,
    ("GET", "/v1/tracks/flags"): PERSONAL,
    # one flag, its review and its map: supervisors only (issue 15)
    ("GET", "/v1/tracks/flags/{flag_id}"): REVIEWERS,
    ("POST", "/v1/tracks/flags/refresh"): _write("analyst"),
    ("POST", "/v1/tracks/flags/{flag_id}/review"): _write("analyst"),
    ("GET", "/maps/flags/{flag_id}"): REVIEWERS,
    ("GET", "/v1/users"): ADMIN_ONLY_READ,
    ("POST", "/v1/events"): _write("worker", scoped=True),
    ("POST", "/v1/events/import"): _write(),
    ("POST", "/v1/events/{event_id}/actions"): _write("worker", "analyst", scoped=True),
    ("POST", "/v1/tracks"): _write("worker", scoped=True),
    ("POST", "/v1/users"): _write(),
    # OGC API - Features and vector tiles: boundaries, open
    ("GET", "/"): OPEN,
    ("GET", "/api"): OPEN,
    ("GET", "/conformance"): OPEN,
    ("GET", "/collections"): OPEN,
    ("GET", "/collections/{collectionId}"): OPEN,
    ("GET", "/collections/{collectionId}/items"): OPEN,
    ("GET", "/collections/{collectionId}/items/{featureId}"): OPEN,
    ("GET", "/tiles/{z}/{x}/{y}.mvt"): OPEN,
    ("GET", "/tiles.json"): OPEN,
}
"""The access rule of every operation, by (method, path template)."""



def _shape(path: str) -> str:
    """A path template with its parameter names dropped (``/a/{}/b``)."""
    return re.sub(r"\{[^}]*\}", "{}", path)


_BY_SHAPE = {(method, _shape(path)): rule for (method, path), rule in RULES.items()}


def rule_for(method: str, path: str) -> Rule | None:
    """Return the rule of an operation (``HEAD`` follows ``GET``), ``None`` if unlisted."""
    method = "GET" if method.upper() == "HEAD" else method.upper()
    return _BY_SHAPE.get((method, _shape(path)))


def _compile(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile(
        "^" + "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$"
    )


_MATCHERS = sorted(
    ((method, _compile(path), path.count("{"), rule) for (method, path), rule in RULES.items()),
    key=lambda item: item[2],  # literal paths first: /v1/events/overdue before {event_id}
)


_LITERAL = {key: rule for key, rule in RULES.items() if "{" not in key[1]}


def _route_rule(request: Request) -> Rule:
    """The rule of the requested operation, matched on the concrete path.

    Unlisted operations get a rule no role but admin passes (fail closed).
    """
    method = "GET" if request.method == "HEAD" else request.method
    path: str = request.scope.get("path", "")
    root: str = request.scope.get("root_path", "")
    if root and path.startswith(root):  # behind a proxy prefix
        path = path[len(root) :]
    literal = _LITERAL.get((method, path))
    if literal is not None:  # the hot paths (locate) are literal: one dict lookup
        return literal
    for rule_method, pattern, _, rule in _MATCHERS:
        if rule_method == method and pattern.match(path):
            return rule
    return Rule("personal", ())


def _bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _lookup(request: Request, token: str) -> Principal | None:
    with Session(request.app.state.engine) as session:
        return principal_for_token(session, token)


async def enforce_access(request: Request) -> None:
    """App-wide dependency applying :data:`RULES` to every request.

    Open reads pass untouched while ``open_reads`` is on (no database access,
    so the locate hot path stays on the event loop); with it off they need a
    valid token. Personal reads and writes need a token here and are checked
    in full (token, role, scope) by their route's own dependency.

    Raises
    ------
    Unauthorized
        No token where one is needed, or (closed reads) an unknown token.
    """
    rule = _route_rule(request)
    if rule.kind == "public":
        return
    if rule.kind == "open" and request.app.state.settings.open_reads:
        return
    token = _bearer_token(request)
    if token is None:
        what = "this endpoint" if rule.needs_token else "reads (GRIDGEO_OPEN_READS=false)"
        raise Unauthorized(f"{what} requires `Authorization: Bearer <token>`")
    if rule.kind == "open":
        principal = await run_in_threadpool(_lookup, request, token)
        if principal is None:
            raise Unauthorized("unknown or disabled token")
        request.state.principal = principal


def personal_reader(request: Request, principal: Principal = Depends(get_principal)) -> Principal:
    """Dependency of personal reads: the caller, if the route's rule admits their role.

    Raises
    ------
    Unauthorized
        Missing or unknown token.
    Forbidden
        A role the rule does not admit.
    """
    rule = _route_rule(request)
    if not rule.admits(principal.role):
        allowed = ", ".join(sorted({*rule.roles, "admin"}))
        raise Forbidden(
            f"role {principal.role!r} may not read {request.url.path}; it needs one of: {allowed}"
        )
    return principal


def grid_scope(principal: Principal) -> tuple[str, ...] | None:
    """The grids a caller's reads are limited to: ``None`` (all) unless a worker."""
    return principal.grid_codes if principal.role == "worker" else None


def in_scope(scope: Iterable[str] | None, code: object) -> bool:
    """Whether grid ``code`` lies in ``scope`` (a micro-grid in its grid's scope).

    A missing code (None, NaN) lies in no worker's scope.

    Examples
    --------
    >>> in_scope(None, "330109001001001")
    True
    >>> in_scope(("330109001001001",), "330109001001001002")
    True
    >>> in_scope(("330109001001001",), "330109001001002"), in_scope(("330109001001001",), None)
    (False, False)
    """
    if scope is None:
        return True
    return isinstance(code, str) and any(code.startswith(own) for own in scope)


def require_grid_read(principal: Principal, code: str | None, what: str = "data") -> None:
    """Refuse a worker's read of another grid's ``what``.

    Raises
    ------
    Forbidden
    """
    scope = grid_scope(principal)
    if not in_scope(scope, code):
        raise Forbidden(
            f"worker {principal.name!r} sees only grids {', '.join(scope or ()) or '(none)'};"
            f" this {what} belongs to grid {code or '(none)'}"
        )


def unruled_routes(app: FastAPI) -> list[str]:
    """Operations of ``app`` without a rule (should be empty)."""
    missing = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            for method in sorted((route.methods or set()) - {"HEAD"}):
                if rule_for(method, route.path_format) is None:
                    missing.append(f"{method} {route.path_format}")
    return missing


def check_rules(app: FastAPI) -> None:
    """Refuse to build an app with an operation missing from :data:`RULES`.

    Raises
    ------
    RuntimeError
    """
    missing = unruled_routes(app)
    if missing:
        raise RuntimeError(
            "operations without an access rule in api/access.py: " + ", ".join(missing)
        )
