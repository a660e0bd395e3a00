"""Planner workflow: import → validate → publish, diff and export of generations.

Each function runs inside the caller's session; the caller commits, so an
import or publish that fails part-way leaves nothing behind.
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.errors import GEOSException
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgeo.boundaries import ValidationReport, diff_generations, read_boundaries, validate_units
from gridgeo.boundaries.diff import EventsDiff, Progress, events_reattributed, units_near
from gridgeo.boundaries.report import Issue, triage
from gridgeo.boundaries.validate import check_completeness
from gridgeo.coding import recode_generation
from gridgeo.errors import Conflict, InvalidInput, NotFound
from gridgeo.locate import DEFAULT_CELL_SIZE_M, LocateIndex, default_tolerance_m
from gridgeo.measure import to_local_metric
from gridgeo.store.codes import record_lineage
from gridgeo.store.events import event_points_in
from gridgeo.store.generations import (
    active_generation,
    create_generation,
    get_generation,
    publish,
)
from gridgeo.store.models import Generation
from gridgeo.store.units import insert_units, read_units
from gridgeo.text import excerpt, is_ascii_digits

EXPORT_FORMATS = {
    "geojson": ".geojson",
    "gpkg": ".gpkg",
    "shapefile": ".zip",
    "parquet": ".parquet",
}
CODED_LEVELS = ("grid", "microgrid")
PARENT_LEVEL = {
    "street": "district",
    "community": "street",
    "grid": "community",
    "microgrid": "grid",
}


@dataclass
class ImportSummary:
    """What an import created."""

    generation_id: int
    label: str
    units: int
    by_level: dict[str, int]
    coded: int
    lineage: int
    notes: dict[str, Any] = field(default_factory=dict)
    base_generation_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "generation": str(self.generation_id),
            "label": self.label,
            "units": self.units,
            "by_level": self.by_level,
            "coded": self.coded,
            "lineage": self.lineage,
            "unused_columns": list(self.notes.get("unused_columns", [])),
            "notes": self.notes,
            "base_generation": None
            if self.base_generation_id is None
            else str(self.base_generation_id),
        }


def _registered_codes(session: Session) -> set[str]:
    return set(session.execute(text("SELECT code FROM code_registry")).scalars())


def _fill_parents(units: gpd.GeoDataFrame, reference: gpd.GeoDataFrame | None) -> pd.Series:
    """Parent code of rows lacking one: the unit of the parent level covering most of it."""
    parents = units["parent_code"].copy()
    missing = parents.isna() & units["level"].isin(list(PARENT_LEVEL))
    if not missing.any():
        return parents
    pool = units if reference is None else pd.concat([units, reference], ignore_index=True)
    for level, parent_level in PARENT_LEVEL.items():
        rows = np.flatnonzero((missing & (units["level"] == level)).to_numpy())
        candidates = pool[(pool["level"] == parent_level) & pool["code"].notna()]
        if not len(rows) or candidates.empty:
            continue
        tree = shapely.STRtree(candidates.geometry.values)
        probes = shapely.point_on_surface(units.geometry.values[rows])
        hits = tree.query(probes, predicate="within")
        chosen = pd.Series(hits[1], index=hits[0]).groupby(level=0).first()
        codes = candidates["code"].to_numpy()
        for position, candidate in chosen.items():
            parents.iloc[rows[int(position)]] = codes[candidate]
    return parents


def _complete_codes(
    session: Session,
    units: gpd.GeoDataFrame,
    *,
    recode: bool,
    only: pd.Series | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, int]:
    """Give grids and micro-grids without a code (or all, with ``recode``) a code by rule.

    ``only`` (a boolean mask) limits the rows that may be coded: the rows of
    a partial file, the rest being the published generation's units.
    """
    units = units.copy()
    scope = pd.Series(True, index=units.index) if only is None else only
    try:
        previous_id: int | None = active_generation(session).id
    except Exception:  # noqa: BLE001 - nothing published yet
        previous_id = None
    previous = read_units(session, previous_id) if previous_id else None
    units["parent_code"] = _fill_parents(units, previous)
    reserved = _registered_codes(session)
    lineage_parts = []
    coded = 0
    for level in CODED_LEVELS:
        rows = units["level"] == level
        todo = rows & (units["code"].isna() | recode) & scope
        if not todo.any():
            continue
        if units.loc[todo, "parent_code"].isna().any():
            bad = units.index[todo & units["parent_code"].isna()][:5].tolist()
            raise InvalidInput(f"{level} rows {bad} have no code and no parent unit covering them")
        old = (
            previous[previous["level"] == level]
            if previous is not None
            else gpd.GeoDataFrame({"code": []}, geometry=[], crs=4490)
        )
        in_use = set(units.loc[rows & ~todo, "code"].dropna())
        codes, lineage = recode_generation(old, units.loc[todo], reserved=reserved | in_use)
        renamed = dict(zip(units.loc[todo, "code"], codes, strict=True))
        units.loc[todo, "code"] = codes
        coded += int(todo.sum())
        lineage_parts.append(lineage)
        if level == "grid":  # micro-grids follow their grid's new code
            micro = units["level"] == "microgrid"
            units.loc[micro, "parent_code"] = units.loc[micro, "parent_code"].replace(renamed)
    lineage_frame = (
        pd.concat(lineage_parts, ignore_index=True)
        if lineage_parts
        else pd.DataFrame(columns=["code", "related_code", "relation"])
    )
    return units, lineage_frame, coded


def import_boundaries(
    session: Session,
    source: str | Path | bytes | BinaryIO,
    *,
    filename: str | None = None,
    crs: str | None = None,
    layer: str | None = None,
    encoding: str | None = None,
    mapping: dict[str, str] | None = None,
    label: str | None = None,
    note: str | None = None,
    recode: bool = False,
    replace_under: str | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Read a boundary file and store it as a new draft generation.

    Grids and micro-grids without a code get one by rule (reading order,
    carrying over the codes of the published generation where a grid is
    unchanged); ``recode=True`` recomputes every grid and micro-grid code.

    With ``replace_under`` the file holds only the redrawn part (a street,
    community or grid and the units under it): the draft is the published
    generation with every unit under that code replaced by the file's units
    (and the unit itself, when the file holds it), so it is complete. The
    file's units must all lie under the code (by code and by geometry);
    codes are kept where a redrawn grid matches an old one (IoU rule of
    :func:`gridgeo.coding.recode_generation`) and lineage is recorded. The
    draft records the published generation as its ``base_generation_id``.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    source : path, bytes or file
        See :func:`gridgeo.boundaries.read_boundaries`.
    filename, crs, layer, encoding, mapping
        Passed to :func:`~gridgeo.boundaries.read_boundaries`.
    label, note : str, optional
        Label and note of the draft.
    recode : bool
        Recompute all grid and micro-grid codes (only the file's, with
        ``replace_under``).
    replace_under : str, optional
        Code of the unit whose descendants the file replaces.
    progress : callable, optional
        Receives a line of text at each step.

    Returns
    -------
    ImportSummary

    Raises
    ------
    InvalidInput
        Unreadable file, units without codes that cannot be coded, or (with
        ``replace_under``) units outside that code.
    NotFound
        ``replace_under`` is not a unit of the published generation, or
        nothing is published.
    """
    say = progress or (lambda _line: None)
    say(f"reading {filename or 'the upload'}")
    units = read_boundaries(
        source, filename=filename, crs=crs, layer=layer, encoding=encoding, mapping=mapping
    )
    if units.empty:
        raise InvalidInput("the file contains no polygons")
    say(f"read {len(units):,} units")
    notes = dict(units.attrs.get("import", {}))
    base_id: int | None = None
    only: pd.Series | None = None
    if replace_under is not None:
        base = active_generation(session)
        base_id = base.id
        units, only, replaced = _replace_under(read_units(session, base.id), units, replace_under)
        notes["replace_under"] = {
            "code": replace_under.strip(),
            "base_generation": str(base.id),
            "replaced_units": replaced,
            "file_units": int(only.sum()),
        }
        say(
            f"replacing {replaced:,} units under {replace_under} in generation {base.id} "
            f"with the file's {int(only.sum()):,}"
        )
    say("assigning codes")
    units, lineage, coded = _complete_codes(session, units, recode=recode, only=only)
    if units["code"].isna().any():
        rows = units.index[units["code"].isna()][:5].tolist()
        raise InvalidInput(f"rows {rows} have no code and are not grids or micro-grids")
    check_storable(units)
    if only is not None:
        _check_parents(units, only)
    generation = create_generation(session, label, note=note, parent_id=base_id)
    generation.base_generation_id = base_id
    generation.import_notes = _jsonable(notes)
    say(f"storing {len(units):,} units as draft {generation.id}")
    count = insert_units(session, generation.id, units)
    records = lineage.astype(str).to_dict("records") if len(lineage) else []
    record_lineage(session, generation.id, records)
    session.flush()
    say("import done")
    return ImportSummary(
        generation_id=generation.id,
        label=generation.label,
        units=count,
        by_level=units["level"].value_counts().to_dict(),
        coded=coded,
        lineage=len(records),
        notes=generation.import_notes or {},
        base_generation_id=base_id,
    )


def _rows_of(mask: pd.Series) -> list[int]:
    return [int(i) for i in np.flatnonzero(mask.to_numpy())]


def check_storable(units: gpd.GeoDataFrame) -> None:
    """Refuse units the database would reject, naming the field and the rows.

    Checked before anything is written: codes are ASCII digits of a level's
    length, unique within the file; parent codes are ASCII digits and
    prefixes of their codes.

    Raises
    ------
    InvalidInput
        ``details`` holds ``{"field", "rows"}`` (and ``"codes"`` for duplicates).
    """
    codes = units["code"].astype(object)
    text_codes = codes.map(lambda c: c if isinstance(c, str) else str(c))
    not_digits = ~text_codes.map(is_ascii_digits)
    if not_digits.any():
        rows = _rows_of(not_digits)
        shown = ", ".join(f"row {r}: {excerpt(text_codes.iloc[r], 30)}" for r in rows[:5])
        raise InvalidInput(
            f"code: codes must be ASCII digits ({shown})", details={"field": "code", "rows": rows}
        )
    bad_length = units["level"].isna()
    if bad_length.any():
        rows = _rows_of(bad_length)
        shown = ", ".join(f"row {r}: {text_codes.iloc[r]}" for r in rows[:5])
        raise InvalidInput(
            f"code: code lengths match no level (6, 9, 12, 15 or 18 digits): {shown}",
            details={"field": "code", "rows": rows},
        )
    duplicated = text_codes.duplicated(keep=False)
    if duplicated.any():
        rows = _rows_of(duplicated)
        dup = sorted(set(text_codes[duplicated]))
        raise InvalidInput(
            f"code: {len(dup)} code(s) appear more than once: {', '.join(dup[:5])}"
            + (" …" if len(dup) > 5 else "")
            + f" (rows {', '.join(map(str, rows[:10]))})",
            details={"field": "code", "codes": dup[:1000], "rows": rows[:1000]},
        )
    parents = units["parent_code"]
    has_parent = parents.notna()
    bad_parent = has_parent & ~parents.map(lambda p: isinstance(p, str) and is_ascii_digits(p))
    bad_parent |= has_parent & ~pd.Series(
        [isinstance(p, str) and c.startswith(p) for c, p in zip(text_codes, parents, strict=True)],
        index=units.index,
    )
    if bad_parent.any():
        rows = _rows_of(bad_parent)
        raise InvalidInput(
            "parent_code: parent codes must be ASCII digits and a prefix of the code "
            f"(rows {', '.join(map(str, rows[:10]))})",
            details={"field": "parent_code", "rows": rows},
        )


OUTSIDE_SHARE: Final = 0.01
"""With ``replace_under``, a file unit may reach at most this share of its area
(and at least 1 m²) outside the unit it is placed under."""


def _replace_under(
    base: gpd.GeoDataFrame, part: gpd.GeoDataFrame, code: str
) -> tuple[gpd.GeoDataFrame, pd.Series, int]:
    """The base units with everything under ``code`` replaced by ``part``.

    Returns the combined table, the mask of the rows that came from ``part``
    and the number of base units replaced.
    """
    code = str(code).strip()
    base_codes = base["code"].astype(str)
    if code not in set(base_codes):
        raise NotFound(
            f"--replace-under {code}: no unit with this code in the published generation",
            details={"code": code},
        )
    level = str(base.loc[base_codes == code, "level"].iloc[0])
    if level == "microgrid":
        raise InvalidInput(f"--replace-under {code}: nothing lies under a micro-grid")
    depth = {lv: i for i, lv in enumerate(("district", "street", "community", "grid", "microgrid"))}
    part = part.reset_index(drop=True)
    part_codes = part["code"]
    coded = part_codes.notna()
    under = part_codes.astype(str).str.startswith(code) & (
        part_codes.astype(str).str.len() > len(code)
    )
    outside_code = coded & ~(under | (part_codes == code))
    shallow = ~coded & part["level"].map(lambda lv: depth.get(str(lv), 99) <= depth[level])
    bad = part.index[outside_code | shallow]
    if len(bad):
        shown = [str(part_codes.iloc[i]) if coded.iloc[i] else f"row {i}" for i in bad[:5]]
        raise InvalidInput(
            f"--replace-under {code}: the file holds {len(bad)} unit(s) that are not under "
            f"{code}: {', '.join(shown)}",
            details={"outside": shown},
        )
    mine = part_codes == code
    container = (
        part.loc[mine].geometry.iloc[0]
        if mine.any()
        else base.loc[base_codes == code].geometry.iloc[0]
    )
    others = np.flatnonzero(~mine.to_numpy())
    if len(others):
        geoms = np.asarray(part.geometry.values, dtype=object)[others]
        projected, metric = to_local_metric(np.concatenate([geoms, [container]]))
        outside = shapely.area(shapely.difference(projected[:-1], projected[-1]))
        total = shapely.area(projected[:-1])
        beyond = (outside > 1.0) & (outside > OUTSIDE_SHARE * total)
        if beyond.any():
            rows = others[beyond]
            shown = [
                str(part_codes.iloc[i]) if coded.iloc[i] else f"row {i}" for i in rows[:5].tolist()
            ]
            raise InvalidInput(
                f"--replace-under {code}: {len(rows)} unit(s) of the file lie outside {code}: "
                + ", ".join(
                    f"{name} ({outside[k]:,.0f} m² outside)"
                    for name, k in zip(shown, np.flatnonzero(beyond)[:5].tolist(), strict=True)
                ),
                details={"outside": shown},
            )
    descendants = base_codes.str.startswith(code) & (base_codes.str.len() > len(code))
    replaced = descendants | ((base_codes == code) & bool(mine.any()))
    kept = base.loc[~replaced.to_numpy()]
    combined = pd.concat([kept, part], ignore_index=True)
    combined = gpd.GeoDataFrame(combined, geometry=combined.geometry.name, crs=base.crs)
    only = pd.Series([False] * len(kept) + [True] * len(part), index=combined.index)
    return combined, only, int(replaced.sum())


def _check_parents(units: gpd.GeoDataFrame, only: pd.Series) -> None:
    """Every file unit's parent must be a unit of the combined generation."""
    codes = set(units["code"].dropna())
    parents = units.loc[only, "parent_code"]
    missing = parents.notna() & ~parents.isin(codes)
    if missing.any():
        rows = units.loc[only & missing]
        shown = [
            f"{c} (parent {p})" for c, p in zip(rows["code"], rows["parent_code"], strict=True)
        ]
        raise InvalidInput(
            f"{len(rows)} unit(s) of the file name a parent that is not in the generation: "
            + ", ".join(shown[:5]),
            details={"units": shown},
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _quiet(_: str) -> None:
    return None


def _active_other(session: Session, generation: Generation) -> Generation | None:
    """The published generation, unless it is ``generation`` itself (or none is published)."""
    try:
        active = active_generation(session)
    except NotFound:
        return None
    return None if active.id == generation.id else active


def baseline_generation(session: Session, generation: Generation) -> Generation | None:
    """The generation a draft is compared with: the one it was made from, else the active one.

    A draft made from an edit (redraw) or a partial re-import records the
    generation it came from (``base_generation_id`` where the store has it, else
    ``parent_id``).
    """
    base = _base_id(generation)
    if base is not None and base != generation.id:
        return get_generation(session, base)
    return _active_other(session, generation)


def _base_id(generation: Generation) -> int | None:
    base = getattr(generation, "base_generation_id", None) or generation.parent_id
    return int(base) if base is not None else None


def validate_generation(
    session: Session,
    ref: str | int,
    *,
    repair: bool = False,
    scope: list[str] | None = None,
    progress: Progress | None = None,
    **options: Any,
) -> ValidationReport:
    """Validate a draft; store the report; mark it validated when it has no errors.

    Besides :func:`gridgeo.boundaries.validate_units` (with
    ``parents_required``: a unit whose parent is not in the generation is an
    error), the draft must cover what the active generation covers
    (:func:`gridgeo.boundaries.validate.check_completeness`) unless ``scope``
    states what it covers.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    ref : str or int
        Generation id or label.
    repair : bool
        Repair invalid geometries in the draft (the report lists what changed).
    scope : list of str, optional
        Codes the generation is stated to cover (completeness is checked only
        under them); recorded in the report.
    progress : callable, optional
        Receives one line per step.
    **options
        Passed to :func:`gridgeo.boundaries.validate_units`.

    Returns
    -------
    ValidationReport
    """
    say = progress or _quiet
    generation = get_generation(session, ref)
    say(f"reading generation {generation.label}")
    units = read_units(session, generation.id)
    options.setdefault("parents_required", True)
    report = validate_units(units, repair=repair, progress=say, **options)
    if repair and report.repaired is not None and generation.status in ("draft", "validated"):
        say("storing repaired geometries")
        session.execute(
            text("DELETE FROM grid_units WHERE generation_id = :g"), {"g": generation.id}
        )
        insert_units(session, generation.id, report.repaired)
        units = report.repaired
        report = validate_units(report.repaired, progress=say, **options)
    active = _active_other(session, generation)
    if active is not None:
        say(f"checking completeness against the active generation {active.label}")
        try:
            found = check_completeness(units, read_units(session, active.id), scope=scope)
        except (GEOSException, ValueError) as exc:  # reported, never a 500
            found = [
                Issue(
                    "error",
                    "geometry_engine",
                    [],
                    "the completeness check against the active generation could not be "
                    f"completed: {str(exc).splitlines()[0][:300] if str(exc) else exc!r}",
                    details={"check": "completeness", "error": type(exc).__name__},
                )
            ]
        report.issues[:0] = found
    stored = report.to_dict()
    stored["scope"] = list(scope) if scope else None
    stored["completeness_against"] = str(active.id) if active is not None else None
    generation.validation_report = stored
    if generation.status in ("draft", "validated"):
        generation.status = "validated" if report.ok else "draft"
    session.flush()
    return report


def check_report_filters(severity: str | None, levels: list[str] | None) -> None:
    """Raise :class:`InvalidInput` for an unknown severity or level filter."""
    from gridgeo.boundaries.mapping import LEVELS

    if severity is not None and severity not in ("error", "warning"):
        raise InvalidInput(f"severity must be error or warning, not {severity!r}")
    bad = sorted(set(levels or ()) - set(LEVELS))
    if bad:
        raise InvalidInput(f"unknown level(s) {', '.join(bad)}; levels are {', '.join(LEVELS)}")


def report_view(
    session: Session,
    ref: str | int,
    *,
    changed_only: bool | None = None,
    severity: str | None = None,
    levels: list[str] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The stored report of a generation, grouped, compared with its baseline and filtered.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    ref : str or int
        Generation id or label (validated).
    changed_only : bool, optional
        Show only findings absent from the baseline's report (see
        :func:`baseline_generation`). Default: on for a draft made from an
        edit or a partial re-import (it records the generation it came from),
        off otherwise.
    severity : {"error", "warning"}, optional
    levels : list of str, optional
        Only findings naming units of these levels.
    progress : callable, optional

    Returns
    -------
    dict
        :func:`gridgeo.boundaries.report.triage` plus ``generation``,
        ``baseline_generation`` and the report's ``counts``.

    Raises
    ------
    NotFound
        The generation has not been validated.
    InvalidInput
        Unknown severity or level.
    """
    check_report_filters(severity, levels)
    generation = get_generation(session, ref)
    report = generation.validation_report
    if report is None:
        raise NotFound(f"generation {generation.label} has not been validated")
    baseline = baseline_generation(session, generation)
    if changed_only is None:
        changed_only = _base_id(generation) is not None and baseline is not None
    base_report: dict[str, Any] | None = None
    if baseline is not None:
        base_report = baseline.validation_report
        if base_report is None:
            (progress or _quiet)(f"validating the baseline generation {baseline.label} once")
            base = validate_units(
                read_units(session, baseline.id), parents_required=True, progress=progress
            )
            base_report = base.to_dict()
            baseline.validation_report = base_report
            session.flush()
    view = triage(
        report,
        baseline=base_report,
        changed_only=bool(changed_only and base_report is not None),
        severity=severity,
        levels=levels,
    )
    view["generation"] = str(generation.id)
    view["label"] = generation.label
    view["baseline_generation"] = str(baseline.id) if baseline is not None else None
    view["baseline_label"] = baseline.label if baseline is not None else None
    view["counts"] = dict(report.get("counts", {}))
    view["scope"] = report.get("scope")
    return view


def publish_generation(
    session: Session,
    ref: str | int,
    *,
    force_reason: str | None = None,
    at: datetime | None = None,
    on_index: Callable[[LocateIndex], None] | None = None,
    progress: Progress | None = None,
) -> Generation:
    """Publish a generation that passed validation, or force it with a recorded reason.

    An incomplete generation (missing districts, streets, communities' grids
    or area compared with the active one, or units whose parent is missing)
    has validation errors and is refused like any other; the message names
    what is missing.

    The locate index of the generation is built inside the publish
    transaction: a generation the index cannot serve (e.g. a unit whose
    parent is not in the generation, as in a file holding one community
    only) is refused, even with a reason, so every reader can answer from
    the published generation.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        The caller commits.
    ref : str or int
    force_reason : str, optional
        Publish despite validation errors; recorded.
    at : datetime, optional
        Start of validity.
    on_index : callable, optional
        Receives the built :class:`~gridgeo.locate.LocateIndex` (the API
        installs it, so it is not built twice).
    progress : callable, optional
        Receives a line of text at each step.

    Raises
    ------
    Conflict
        The generation was not validated (or has errors) and no reason was
        given, or the locate index cannot be built for it.
    """
    say = progress or _quiet
    generation = get_generation(session, ref)
    if generation.status == "draft" and not force_reason:
        report = generation.validation_report
        if report is None:
            raise Conflict(
                f"generation {generation.label} has not been validated; validate it first "
                "or publish with a recorded reason (force)"
            )
        errors = [i for i in report.get("issues", []) if i.get("severity") == "error"]
        missing = [i for i in errors if i.get("rule") in ("incomplete", "missing_parent")]
        message = (
            f"generation {generation.label} has {len(errors)} validation error(s); fix them or "
            "publish with a recorded reason (force)"
        )
        if missing:
            parents = sorted(
                {
                    str(i.get("details", {}).get("parent_code"))
                    for i in missing
                    if i.get("rule") == "missing_parent"
                }
            )
            lines = [str(i.get("message")) for i in missing if i.get("rule") == "incomplete"]
            if parents:
                shown = ", ".join(parents[:10]) + (" …" if len(parents) > 10 else "")
                lines.append(f"units refer to parents missing from the generation: {shown}")
            message = (
                f"generation {generation.label} is incomplete: " + "; ".join(lines) + ". " + message
            )
        raise Conflict(message, details={"errors": len(errors), "incomplete": len(missing)})
    say(f"publishing generation {generation.label}")
    published = publish(session, generation, at=at, forced_reason=force_reason)
    say(f"building the locate index of generation {published.label}")
    index = build_locate_index(session, published.id)
    if on_index is not None:
        on_index(index)
    say(f"published generation {published.label}")
    return published


def index_for_generation(
    session: Session, generation_id: int, *, cell_size_m: float | None = DEFAULT_CELL_SIZE_M
) -> LocateIndex:
    """Build the locate index of a stored generation.

    Invalid polygons (which a planner may publish with a recorded reason) are
    repaired with :func:`shapely.make_valid` for the index only, so a forced
    publish is still served; structural problems (a parent that is not in
    the generation, bad codes) are not repairable.

    Raises
    ------
    InvalidInput
        The units cannot form a locate index.
    """
    units = read_units(session, generation_id)
    geoms = np.asarray(units.geometry.values, dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    invalid = present & ~shapely.is_valid(geoms)
    if invalid.any():
        repaired = geoms.copy()
        for i in np.flatnonzero(invalid).tolist():
            parts = shapely.get_parts(shapely.get_parts(shapely.make_valid(geoms[i])))
            polygons = parts[shapely.get_type_id(parts) == 3]
            if len(polygons):
                repaired[i] = shapely.multipolygons(polygons)
        units = units.set_geometry(gpd.GeoSeries(repaired, crs=units.crs, index=units.index))
    return LocateIndex.build(units, generation=str(generation_id), cell_size_m=cell_size_m)


def build_locate_index(session: Session, generation_id: int) -> LocateIndex:
    """Build the locate index of a generation, or refuse it with :class:`Conflict`.

    Raises
    ------
    Conflict
        The units cannot form a locate index (the message says why).
    """
    try:
        return index_for_generation(session, generation_id)
    except InvalidInput as exc:
        raise Conflict(
            f"generation {generation_id} cannot be published: the locate index cannot be "
            f"built for it ({exc}); import a complete generation or use --replace-under",
            details={"generation": str(generation_id), "cause": exc.details},
        ) from exc


def diff(
    session: Session,
    old_ref: str | int,
    new_ref: str | int,
    *,
    geometry: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Compare two generations level by level (see :mod:`gridgeo.boundaries.diff`).

    Events are located in both generations with the locate index (special
    grids first, most specific level, lowest code on shared edges); only the
    events inside the diff's region (where anything changed) are read.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    old_ref, new_ref : str or int
        Generation ids or labels.
    geometry : bool
        Add the changed areas as a GeoJSON FeatureCollection (``geometry``).
    progress : callable, optional
        Receives a line of text at each step.

    Returns
    -------
    dict
        :meth:`GenerationDiff.to_dict` plus ``old_generation``,
        ``new_generation``, ``events`` (counts per level and the largest
        owner flows), ``events_reattributed`` (``total`` owner changes,
        ``by_level`` and the largest ``flows``; ``total`` is None when the
        events could not be located, see ``events_error``), ``text`` (the
        readable summary) and, when asked, ``geometry``.
    """
    say = progress or (lambda _line: None)
    old = get_generation(session, old_ref)
    new = get_generation(session, new_ref)
    say(f"reading generations {old.id} and {new.id}")
    units_old = read_units(session, old.id)
    units_new = read_units(session, new.id) if new.id != old.id else units_old
    result = diff_generations(units_old, units_new, progress=say)
    events_error = None
    if result.region is not None:
        # Boxes padded beyond the locate tolerance: an event outside them keeps its owner.
        pad = max(1e-7, 3 * default_tolerance_m() / 111_320.0)
        boxes = _search_boxes(result.region, pad_deg=pad)
        lon, lat = event_points_in(session, boxes)
        say(f"locating {len(lon):,} events in the changed area in both generations")
        try:
            old_index = LocateIndex.build(
                units_near(units_old, boxes), generation=str(old.id), cell_size_m=None
            )
            new_index = LocateIndex.build(
                units_near(units_new, boxes), generation=str(new.id), cell_size_m=None
            )
        except InvalidInput as exc:
            events_error = f"events cannot be located in both generations: {exc}"
        else:
            result.events = events_reattributed(old_index, new_index, lon, lat, result.groups)
    else:
        result.events = EventsDiff()
    body: dict[str, Any] = result.to_dict()
    body["old_generation"] = str(old.id)
    body["new_generation"] = str(new.id)
    events = body.get("events") or {}
    body["events_reattributed"] = {
        "total": events.get("owner_changed"),
        "by_level": events.get("by_level", {}),
        "flows": events.get("flows", []),
    }
    if events_error:
        body["events_error"] = events_error
    body["text"] = result.to_text() + (f"\n{events_error}" if events_error else "")
    if geometry:
        body["geometry"] = result.geometry_feature_collection()
    say("diff done")
    return body


def _search_boxes(region: Any, pad_deg: float = 1e-7, most: int = 2000) -> Any:
    """Boxes around the parts of a diff region (padded by about 1 cm) for an index search."""
    parts = shapely.get_parts(region)
    parts = parts[~shapely.is_empty(parts)]
    if len(parts) > most:
        return shapely.box(*shapely.total_bounds(parts)).buffer(pad_deg, join_style="mitre")
    bounds = shapely.bounds(parts)
    boxes = shapely.box(
        bounds[:, 0] - pad_deg,
        bounds[:, 1] - pad_deg,
        bounds[:, 2] + pad_deg,
        bounds[:, 3] + pad_deg,
    )
    return shapely.multipolygons(boxes)


def export_generation(
    session: Session,
    ref: str | int,
    out: Path,
    fmt: str | None = None,
    *,
    progress: Progress | None = None,
) -> Path:
    """Write a generation's units to GeoJSON, GeoPackage, zipped Shapefile or GeoParquet.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    ref : str or int
    out : pathlib.Path
        Output file.
    fmt : str, optional
        geojson, gpkg, shapefile or parquet; from the suffix when omitted.
    progress : callable, optional
        Receives a line of text at each step.

    Returns
    -------
    pathlib.Path
    """
    fmt = fmt or {v: k for k, v in EXPORT_FORMATS.items()}.get(out.suffix.lower())
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput(
            f"unknown export format for {out.name}; use one of " + ", ".join(EXPORT_FORMATS)
        )
    say = progress or (lambda _line: None)
    generation = get_generation(session, ref)
    say(f"reading generation {generation.id}")
    units = read_units(session, generation.id)
    say(f"writing {len(units):,} units as {fmt} to {out}")
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "geojson":
        units.to_file(out, driver="GeoJSON", engine="pyogrio")
    elif fmt == "gpkg":
        units.to_file(out, driver="GPKG", layer="units", engine="pyogrio")
    elif fmt == "parquet":
        units.to_parquet(out)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            shp = Path(tmp) / "units.shp"
            units.to_file(shp, driver="ESRI Shapefile", engine="pyogrio", encoding="UTF-8")
            with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
                for part in sorted(Path(tmp).iterdir()):
                    archive.write(part, part.name)
    say("export done")
    return out


REDRAW_OPERATIONS = ("split", "merge", "move", "replace")


def redraw(
    session: Session,
    base_ref: str | int,
    operation: str,
    *,
    code: str | None = None,
    codes: list[str] | None = None,
    new_parent: str | None = None,
    geometry: Any = None,
    adjust_neighbours: bool = True,
    label: str | None = None,
) -> ImportSummary:
    """Apply one redraw operation to a generation and store the result as a new draft.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    base_ref : str or int
        The generation to start from (usually the published one).
    operation : str
        ``split`` (``code`` and a LineString ``geometry``), ``merge`` (``codes``),
        ``move`` (micro-grid ``codes`` to ``new_parent``) or ``replace`` (``code``
        and a polygon ``geometry``, neighbours adjusted unless told otherwise).
    label : str, optional
        Label of the new draft.

    Returns
    -------
    ImportSummary
        The new draft, with the lineage it recorded.
    """
    from gridgeo.boundaries import redraw as ops

    base = get_generation(session, base_ref)
    units = read_units(session, base.id)
    reserved = _registered_codes(session)
    if operation == "split":
        if code is None or geometry is None:
            raise InvalidInput("split needs `code` and a LineString `geometry`")
        result = ops.split_unit(units, code, geometry, reserved=reserved)
    elif operation == "merge":
        if not codes or len(codes) < 2:
            raise InvalidInput("merge needs at least two `codes`")
        result = ops.merge_units(units, codes, reserved=reserved)
    elif operation == "move":
        if not codes or not new_parent:
            raise InvalidInput("move needs micro-grid `codes` and `new_parent`")
        result = ops.move_units(units, codes, new_parent, reserved=reserved)
    elif operation == "replace":
        if code is None or geometry is None:
            raise InvalidInput("replace needs `code` and a polygon `geometry`")
        result = ops.replace_geometry(
            units, code, geometry, adjust_neighbours=adjust_neighbours, reserved=reserved
        )
    else:
        raise InvalidInput(
            f"unknown operation {operation!r}; use one of " + ", ".join(REDRAW_OPERATIONS)
        )
    generation = create_generation(session, label, note=result.summary(), parent_id=base.id)
    generation.base_generation_id = base.id
    count = insert_units(session, generation.id, result.units)
    record_lineage(
        session, generation.id, [{k: str(v) for k, v in item.items()} for item in result.lineage]
    )
    session.flush()
    return ImportSummary(
        generation_id=generation.id,
        label=generation.label,
        units=count,
        by_level=result.units["level"].value_counts().to_dict(),
        coded=len(result.created),
        lineage=len(result.lineage),
        notes={
            "operation": operation,
            "created": list(result.created),
            "retired": list(result.retired),
            "changed": list(result.changed),
        },
    )
