"""Drive the product's public planner workflow and compare it with the oracle.

The product is used only through :mod:`gridgeo.workflows.planner`
(``import_boundaries``, ``validate_generation``, ``diff``,
``export_generation``, ``publish_generation``) and, to place events,
:func:`gridgeo.store.activity.insert_events`.
"""

from __future__ import annotations

import re
import tempfile
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from gridgeo.store.activity import insert_events
from gridgeo.store.db import upgrade
from gridgeo.workflows import planner
from tests.boundaries.independent.edits import Edit
from tests.boundaries.independent.oracle import LEVELS, DiffOracle, diff_oracle, owners

LEVEL_BY_LENGTH = {6: "district", 9: "street", 12: "community", 15: "grid", 18: "microgrid"}
COMPLETENESS_WORDS = ("gap", "incomplete", "complete", "missing_unit", "coverage")
"""Error rules a dropped unit may legitimately raise (besides ``gap``)."""


def create_database(server_url: str, suffix: str, template: str | None = None) -> str:
    """Create a database next to ``server_url`` (migrated when no template); return its URL."""
    server = make_url(server_url)
    name = f"{server.database}_{suffix}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        extra = f' TEMPLATE "{template}"' if template else ""
        conn.execute(text(f'CREATE DATABASE "{name}"{extra}'))
    admin.dispose()
    url = server.set(database=name).render_as_string(hide_password=False)
    if template is None:
        engine = create_engine(url, poolclass=NullPool)
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        upgrade(engine)
        engine.dispose()
    return url


def drop_database(url: str) -> None:
    """Drop a database created by :func:`create_database`."""
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def export_units(session: Session, ref: str | int) -> gpd.GeoDataFrame:
    """A generation's units through the product's export (GeoParquet, EPSG:4490)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = planner.export_generation(session, ref, Path(tmp) / "units.parquet")
        units = gpd.read_parquet(path)
    units["code"] = units["code"].astype(str)
    return units.reset_index(drop=True)


def write_units(units: gpd.GeoDataFrame, path: Path) -> Path:
    """Write units as a planner hands them in (GeoPackage, layer ``units``, own CRS)."""
    units.to_file(path, driver="GPKG", layer="units", engine="pyogrio")
    return path


def event_points(
    baseline: gpd.GeoDataFrame, edit: Edit, edit_crs_units: gpd.GeoDataFrame, seed: int
) -> gpd.GeoSeries:
    """Event points (EPSG:4490): near the edit, on vertices of touched units, and anywhere."""
    rng = np.random.default_rng(seed)
    points: list[np.ndarray] = []
    district = baseline[baseline["level"] == "district"]
    minx, miny, maxx, maxy = (district if len(district) else baseline).total_bounds
    points.append(np.column_stack([rng.uniform(minx, maxx, 150), rng.uniform(miny, maxy, 150)]))
    if edit.region is not None:
        region = gpd.GeoSeries([edit.region], crs=edit_crs_units.crs).to_crs(4490).iloc[0]
        x0, y0, x1, y1 = region.buffer(
            0.5 * max(region.bounds[2] - region.bounds[0], region.bounds[3] - region.bounds[1])
        ).bounds
        points.append(np.column_stack([rng.uniform(x0, x1, 150), rng.uniform(y0, y1, 150)]))
    touched = baseline[baseline["code"].isin(edit.touched)]
    if len(touched):
        xy = shapely.get_coordinates(touched.geometry.boundary.to_numpy())
        if len(xy):
            points.append(xy[rng.choice(len(xy), size=min(30, len(xy)), replace=False)])
    xy = np.vstack(points)
    return gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=4490)


def insert_event_points(
    session: Session, points: gpd.GeoSeries, owners: np.ndarray, generation_id: int, tag: str
) -> int:
    """Store events at ``points`` owned (at report time) by ``owners`` in ``generation_id``."""
    xy = shapely.get_coordinates(points.to_numpy())
    frame = pd.DataFrame(
        {
            "event_id": [f"IND-{tag}-{i:05d}" for i in range(len(xy))],
            "category_code": "S0103",
            "source": "hotline",
            "reported_at": pd.Timestamp("2026-11-20T08:00:00Z"),
            "lon": xy[:, 0],
            "lat": xy[:, 1],
            "crs": "cgcs2000",
            "owner_code": list(owners),
            "owner_generation_id": generation_id,
        }
    )
    return insert_events(session, frame)


# --- validation ------------------------------------------------------------------


def validation_problems(
    report: dict[str, Any], edit: Edit, edit_units: gpd.GeoDataFrame
) -> list[str]:
    """Differences between a validation report and the defects the edit planted."""
    errors = [i for i in report.get("issues", []) if i.get("severity") == "error"]
    if edit.clean:
        return [
            f"clean {edit.name}: unexpected error {e['rule']}: {e['message']}" for e in errors[:5]
        ] + ([f"... {len(errors)} errors in all"] if len(errors) > 5 else [])
    problems = []
    for e in errors:
        if not any(word in e["rule"] for word in COMPLETENESS_WORDS):
            problems.append(f"{edit.name}: error {e['rule']} not planted: {e['message']}")
    for defect in edit.defects:
        where = gpd.GeoSeries([defect.geometry], crs=edit_units.crs).to_crs(4490).iloc[0]
        found = False
        for e in errors:
            if defect.kind not in e["rule"]:
                continue
            codes = set(e.get("codes") or [])
            at = e.get("location")
            inside = at is not None and where.buffer(1e-5).covers(shapely.Point(at))
            if inside or codes & {defect.parent, *defect.codes}:
                found = True
        if not found:
            problems.append(
                f"{edit.name}: planted {defect.kind} in {defect.parent} (missing "
                f"{', '.join(defect.codes[:3])}) not reported; errors: "
                + "; ".join(f"{e['rule']}: {e['message']}" for e in errors[:5])
            )
    return problems


# --- diff ------------------------------------------------------------------------


def _level_of(code: str) -> str:
    if len(code) == 15 and int(code[-3:]) >= 801:
        return "special"
    return LEVEL_BY_LENGTH.get(len(code), "?")


def _codes(items: Any) -> list[str]:
    out = []
    for item in items or []:
        out.append(str(item["code"]) if isinstance(item, dict) else str(item))
    return out


def _find_level_table(body: Any) -> dict[str, dict[str, Any]] | None:
    """A mapping level → figures anywhere in the diff body (per-level report)."""
    if isinstance(body, dict):
        keys = {k for k in body if isinstance(k, str)}
        if {"grid", "microgrid"} <= keys and all(
            isinstance(body[k], dict) for k in keys & set(LEVELS)
        ):
            return {k: body[k] for k in keys & {*LEVELS, "district"}}
        for value in body.values():
            found = _find_level_table(value)
            if found is not None:
                return found
    if isinstance(body, list) and body and all(isinstance(r, dict) for r in body):
        levels = [r.get("level") for r in body]
        per_unit = any(k in r for r in body for k in ("code", "from_code", "to_code"))
        if (
            not per_unit
            and None not in levels
            and len(set(levels)) == len(levels)
            and set(levels) & {"grid", "microgrid"}
        ):
            return {str(r["level"]): r for r in body}
    return None


def _figure(figures: dict[str, Any], pattern: str) -> float | None:
    for key, value in figures.items():
        if (
            re.search(pattern, key)
            and isinstance(value, int | float)
            and not isinstance(value, bool)
        ):
            return float(value)
    for key, value in figures.items():
        if re.search(pattern, key) and isinstance(value, list):
            return float(sum(r.get("events", r.get("count", 0)) for r in value))
        if re.search(pattern, key) and isinstance(value, dict):
            for inner in ("total", "count", "events"):
                if isinstance(value.get(inner), int | float):
                    return float(value[inner])
    return None


def events_total(body: dict[str, Any]) -> float | None:
    """Total events re-attributed reported by the diff (owner changes)."""
    value = body.get("events_reattributed")
    if isinstance(value, list):
        return float(sum(r.get("events", r.get("count", 0)) for r in value))
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dict):
        for key in ("total", "owner", "owners", "count"):
            if isinstance(value.get(key), int | float):
                return float(value[key])
    totals = body.get("totals", {})
    if isinstance(totals, dict) and isinstance(totals.get("events_reattributed"), int | float):
        return float(totals["events_reattributed"])
    return None


@dataclass
class Comparison:
    """Differences between the product's diff and the oracle."""

    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)


def compare_diff(body: dict[str, Any], expected: DiffOracle, edit: Edit) -> Comparison:
    """Compare a diff body with the oracle, per level, within the stated tolerances.

    Tolerances: area |product − oracle| ≤ 1 m² + 0.5 % (for jitter the product
    may also report less, down to 0: survey-precision moves need not count);
    households within max(1, 1 %) of the exact rule or of the area rule (see
    :mod:`~tests.boundaries.independent.oracle`); events exactly.
    """
    out = Comparison()
    added, removed = _codes(body.get("added")), _codes(body.get("removed"))
    for level in LEVELS:
        exp = expected.levels[level]
        got_added = {c for c in added if _level_of(c) == level}
        got_removed = {c for c in removed if _level_of(c) == level}
        if got_added != exp.added or got_removed != exp.removed:
            out.problems.append(
                f"{level}: added/removed {sorted(got_added)}/{sorted(got_removed)}, "
                f"expected {sorted(exp.added)}/{sorted(exp.removed)}"
            )
    total = events_total(body)
    if total is None:
        out.problems.append(f"no events_reattributed figure in the diff (keys {sorted(body)})")
    elif total != expected.owner_changes:
        out.problems.append(
            f"events re-attributed (owner changes): diff says {total:g}, "
            f"expected {expected.owner_changes}"
        )
    out.checked.append("events")
    table = _find_level_table(body)
    if table is None:
        totals = body.get("totals", {})
        out.problems.append(
            "the diff has no per-level figures (area moved, households, events per level); "
            f"totals are {totals}; expected per level "
            + ", ".join(
                f"{lvl}: area {expected.levels[lvl].area_moved_m2:,.1f} m², households "
                f"{expected.levels[lvl].households_moved:g}"
                for lvl in ("community", "grid", "microgrid")
            )
        )
        return out
    for level in LEVELS:
        exp = expected.levels[level]
        figures = table.get(level)
        if figures is None:
            if exp.area_moved_m2 > 1 or exp.added or exp.removed:
                out.problems.append(f"{level}: missing from the per-level diff")
            continue
        area = _figure(figures, r"area.*moved|moved.*area")
        tol = 1.0 + 0.005 * exp.area_moved_m2
        if area is None:
            out.problems.append(f"{level}: no area-moved figure in {sorted(figures)}")
        elif edit.name == "jitter":
            if area > exp.area_moved_m2 + tol:
                out.problems.append(
                    f"{level}: area moved {area:,.1f} m² > {exp.area_moved_m2:,.1f} m² for a jitter"
                )
        elif abs(area - exp.area_moved_m2) > tol:
            out.problems.append(
                f"{level}: area moved {area:,.1f} m², expected {exp.area_moved_m2:,.1f} m²"
            )
        hh = _figure(figures, r"households.*(moved|reattributed|re_attributed)|households$")
        if hh is None:
            out.problems.append(f"{level}: no households figure in {sorted(figures)}")
        else:
            ok = any(
                abs(hh - ref) <= max(1.0, 0.01 * ref)
                for ref in (exp.households_moved, exp.households_apportioned)
            )
            if not ok:
                out.problems.append(
                    f"{level}: households {hh:g}, expected {exp.households_moved:g} (exact) or "
                    f"{exp.households_apportioned:,.1f} (area share)"
                )
        ev = _figure(figures, r"events")
        if ev is not None and ev != exp.events_reattributed:
            out.problems.append(
                f"{level}: events re-attributed {ev:g}, expected {exp.events_reattributed}"
            )
        out.checked.append(level)
    return out


@dataclass
class Outcome:
    """What one edit did to the product."""

    problems: list[str]
    report: dict[str, Any] | None = None
    body: dict[str, Any] | None = None
    expected: DiffOracle | None = None


def run_edit(
    session: Session,
    baseline_id: int,
    baseline: gpd.GeoDataFrame,
    edit: Edit,
    tmp: Path,
    *,
    check_validate: bool = True,
    check_diff: bool = True,
    seed: int = 0,
) -> Outcome:
    """Import the edited file, validate it and diff it against the baseline generation.

    Every step is called even when an earlier one failed, so that one run
    reports all the ways the product disagrees.
    """
    problems: list[str] = []
    path = write_units(edit.units, tmp / f"{edit.name}.gpkg")
    try:
        summary = planner.import_boundaries(session, path, filename=path.name)
    except Exception as exc:  # noqa: BLE001 - report, do not hide
        return Outcome([f"import of the {edit.name} file raised {exc!r}"])
    new_id = summary.generation_id
    report = None
    if check_validate:
        try:
            with session.begin_nested():
                report = planner.validate_generation(session, new_id).to_dict()
        except Exception as exc:  # noqa: BLE001
            tail = traceback.format_exception_only(type(exc), exc)[-1].strip()
            problems.append(f"validate raised on a {edit.name} edit: {tail[:300]}")
        if report is not None:
            problems.extend(validation_problems(report, edit, edit.units))
    body = expected = None
    if check_diff:
        new_units = export_units(session, new_id)
        points = event_points(baseline, edit, edit.units, seed)
        # owner at report time: the DESIGN.md owner in the baseline generation
        insert_event_points(session, points, owners(baseline, points), baseline_id, f"{seed}")
        expected = diff_oracle(baseline, new_units, points)
        try:
            with session.begin_nested():
                body = planner.diff(session, baseline_id, new_id)
        except Exception as exc:  # noqa: BLE001
            tail = traceback.format_exception_only(type(exc), exc)[-1].strip()
            problems.append(f"diff raised on a {edit.name} edit: {tail[:300]}")
        if body is not None:
            problems.extend(compare_diff(body, expected, edit).problems)
    return Outcome(problems, report, body, expected)
