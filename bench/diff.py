"""Benchmark: diff a small edit of the sample city against an independent computation.

Usage::

    python bench/diff.py [--grid CODE] [--shift-m 50] [--db]

Makes a small edit of the sample city (``data/samples``): grid ``--grid``
(default: the base grid holding most events that has a sibling) takes a
strip of about ``--shift-m`` metres from its neighbour along their shared
boundary (:func:`gridgeo.boundaries.redraw.replace_geometry`, neighbours and
micro-grids adjusted). Then it times

* **gridgeo**: :func:`gridgeo.boundaries.diff_generations` (only the units
  that differ are intersected), the events inside the diff's region picked
  with an STR-tree and located in both generations with
  :class:`gridgeo.locate.LocateIndex` (:func:`events_reattributed`);
* **baseline**: an independent geopandas computation of the same numbers:
  ``geopandas.overlay(how="intersection")`` of every level of the old and
  new generation in a Gauss–Krüger CRS (EPSG:4549), households apportioned by
  area, and every event ``sjoin``-ed to both generations with the ownership
  rules applied by sorting (special first, deepest level, lowest code) and
  chains walked through ``parent_code``,

prints both times, the ratio, and checks that area moved, households and
events re-attributed agree per level (areas within 0.1 % + 0.5 m²). With
``--db`` it also times the whole workflow (``planner.diff``: units read from
PostGIS, events selected by the region in SQL) on ``GRIDGEO_DATABASE_URL``,
which must hold the sample city with its events as generation 1 (``gridgeo
samples load --no-tracks``); the edit is stored as a draft and rolled back.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgeo.boundaries.diff import (
    GROUPS,
    diff_generations,
    events_reattributed,
    group_of,
    units_near,
)
from gridgeo.boundaries.redraw import replace_geometry
from gridgeo.locate import LocateIndex
from gridgeo.measure import to_local_metric

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
GK = 4549  # CGCS2000 / 3-degree Gauss-Kruger CM 120E
DEPTH = {"district": 0, "street": 1, "community": 2, "grid": 3, "microgrid": 4}


def load() -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray]:
    """Sample units and event points (storage lon/lat)."""
    from gridgeo.store.activity import storage_points

    units = gpd.read_parquet(SAMPLES / "units.parquet")
    events = pd.read_parquet(SAMPLES / "events.parquet")
    x, y = storage_points(events)
    return units, np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def pick_grid(units: gpd.GeoDataFrame, x: np.ndarray, y: np.ndarray) -> tuple[str, str]:
    """The base grid with most events that has a sibling sharing a long edge."""
    grids = units[(units["level"] == "grid") & (units["kind"] == "base")].reset_index(drop=True)
    tree = shapely.STRtree(grids.geometry.values)
    counts = np.bincount(
        tree.query(shapely.points(x, y), predicate="intersects")[1], minlength=len(grids)
    )
    for i in np.argsort(-counts):
        me = grids.iloc[int(i)]
        sib = grids[(grids["parent_code"] == me["parent_code"]) & (grids["code"] != me["code"])]
        shared = shapely.length(shapely.intersection(sib.geometry.values, me.geometry.boundary))
        if len(sib) and shared.max() > 0.002:  # about 200 m
            return str(me["code"]), str(sib["code"].iloc[int(np.argmax(shared))])
    raise SystemExit("no grid with a sibling found")


def edit(units: gpd.GeoDataFrame, code: str, neighbour: str, shift_m: float) -> gpd.GeoDataFrame:
    """``code`` takes a strip of ``shift_m`` metres from ``neighbour``."""
    me = units.loc[units["code"] == code].geometry.iloc[0]
    other = units.loc[units["code"] == neighbour].geometry.iloc[0]
    (me_m, other_m), crs = to_local_metric([me, other])
    edge = shapely.intersection(me_m.boundary, other_m.boundary)
    strip = shapely.intersection(other_m, edge.buffer(shift_m, cap_style="flat"))
    from gridgeo.measure import from_local_metric

    grown = from_local_metric([shapely.union(me_m, strip).buffer(0)], crs)[0]
    return replace_geometry(units, code, grown).units


# ----------------------------------------------------------------------------- baseline


def owners(units: gpd.GeoDataFrame, points: gpd.GeoDataFrame) -> pd.DataFrame:
    """Owner and per-level chain codes of each event by sjoin + sort (independent rules)."""
    u = units[["code", "level", "kind", "parent_code", "geometry"]]
    hits = gpd.sjoin(points, u, predicate="intersects", how="inner")
    hits["special_first"] = (hits["kind"] != "special").astype(int)
    hits["depth"] = -hits["level"].map(DEPTH)
    hits = hits.sort_values(["special_first", "depth", "code"])
    owner = hits.groupby(level=0)["code"].first().reindex(points.index)
    parent = dict(zip(units["code"], units["parent_code"], strict=True))
    group = {
        c: group_of(lv, kd)
        for c, lv, kd in zip(units["code"], units["level"], units["kind"], strict=True)
    }
    rows = []
    for code in owner.tolist():
        chain: dict[str, str] = {}
        while isinstance(code, str):
            chain[group[code]] = code
            code = parent.get(code)
        rows.append(chain)
    return pd.DataFrame(rows, index=points.index).reindex(columns=list(GROUPS))


def baseline(
    old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, x: np.ndarray, y: np.ndarray
) -> dict[str, dict[str, float]]:
    """Per-level area moved, households and events re-attributed, geopandas only."""
    out: dict[str, dict[str, float]] = {}
    o = old.to_crs(GK)
    n = new.to_crs(GK)
    o["group"] = [group_of(lv, kd) for lv, kd in zip(o["level"], o["kind"], strict=True)]
    n["group"] = [group_of(lv, kd) for lv, kd in zip(n["level"], n["kind"], strict=True)]
    o["area_old"] = o.area
    for g in GROUPS:
        a = o.loc[o["group"] == g, ["code", "households", "area_old", "geometry"]]
        b = n.loc[n["group"] == g, ["code", "geometry"]]
        if a.empty and b.empty:
            continue
        pieces = gpd.overlay(a, b, how="intersection", keep_geom_type=True)
        pieces = pieces[pieces["code_1"] != pieces["code_2"]]
        area = pieces.area
        hh = (pieces["households"].astype(float) * area / pieces["area_old"]).sum()
        out[g] = {"area_moved_m2": float(area[area >= 0.01].sum()), "households": float(hh)}
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=4490)
    before, after = owners(old, points), owners(new, points)
    for g in GROUPS:
        moved = ~((before[g] == after[g]) | (before[g].isna() & after[g].isna()))
        out.setdefault(g, {"area_moved_m2": 0.0, "households": 0.0})["events"] = float(moved.sum())
    return out


# ----------------------------------------------------------------------------- gridgeo


def gridgeo_diff(
    old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, x: np.ndarray, y: np.ndarray
) -> dict[str, dict[str, float]]:
    """The same numbers from gridgeo's diff."""
    result = diff_generations(old, new)
    if result.region is not None:
        b = shapely.bounds(shapely.get_parts(result.region))
        boxes = shapely.box(b[:, 0] - 1e-7, b[:, 1] - 1e-7, b[:, 2] + 1e-7, b[:, 3] + 1e-7)
        tree = shapely.STRtree(shapely.points(x, y))
        inside = np.unique(tree.query(boxes, predicate="intersects")[1])
        area = shapely.multipolygons(boxes)
        result.events = events_reattributed(
            LocateIndex.build(units_near(old, area), cell_size_m=None),
            LocateIndex.build(units_near(new, area), cell_size_m=None),
            x[inside],
            y[inside],
            result.groups,
        )
    totals = result.totals()
    return {
        g: {
            "area_moved_m2": float(t["area_moved_m2"]),
            "households": float(t["households_reattributed"]),
            "events": float(t.get("events_reattributed", 0)),
        }
        for g, t in totals.items()
    }


def agree(mine: dict[str, dict[str, float]], theirs: dict[str, dict[str, float]]) -> list[str]:
    problems = []
    for g in sorted(set(mine) | set(theirs), key=lambda g: GROUPS.index(g)):
        m = mine.get(g, {"area_moved_m2": 0.0, "households": 0.0, "events": 0.0})
        t = theirs.get(g, {"area_moved_m2": 0.0, "households": 0.0, "events": 0.0})
        if abs(m["area_moved_m2"] - t["area_moved_m2"]) > 0.5 + 1e-3 * t["area_moved_m2"]:
            problems.append(f"{g}: area moved {m['area_moved_m2']:.2f} != {t['area_moved_m2']:.2f}")
        if abs(m["households"] - t["households"]) > 0.5 + 1e-3 * t["households"]:
            problems.append(f"{g}: households {m['households']:.2f} != {t['households']:.2f}")
        if m["events"] != t["events"]:
            problems.append(f"{g}: events {m['events']:.0f} != {t['events']:.0f}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--grid", help="Grid code to grow (default: the busiest grid).")
    parser.add_argument("--shift-m", type=float, default=50.0)
    parser.add_argument("--db", action="store_true", help="Also time planner.diff on the DB.")
    args = parser.parse_args()
    units, x, y = load()
    if args.grid:
        me = units.loc[units["code"] == args.grid].iloc[0]
        sib = units[(units["parent_code"] == me["parent_code"]) & (units["code"] != args.grid)]
        code, neighbour = args.grid, str(sib["code"].iloc[0])
    else:
        code, neighbour = pick_grid(units, x, y)
    new = edit(units, code, neighbour, args.shift_m)
    print(
        f"edit: grid {code} takes a {args.shift_m:g} m strip from {neighbour}; "
        f"{len(units):,} units, {len(x):,} events"
    )

    t0 = time.perf_counter()
    mine = gridgeo_diff(units, new, x, y)
    t1 = time.perf_counter()
    theirs = baseline(units, new, x, y)
    t2 = time.perf_counter()
    for g in GROUPS:
        if g in mine and (mine[g]["area_moved_m2"] or mine[g]["events"]):
            m = mine[g]
            print(
                f"  {g:<10} area moved {m['area_moved_m2']:>12,.1f} m²  households "
                f"{m['households']:>8,.1f}  events {m['events']:>6,.0f}"
            )
    print(f"gridgeo diff + events : {t1 - t0:8.2f} s")
    print(f"geopandas overlay+sjoin: {t2 - t1:8.2f} s")
    print(f"ratio (baseline / gridgeo): {(t2 - t1) / (t1 - t0):.1f}x")
    problems = agree(mine, theirs)
    print("numbers agree" if not problems else "MISMATCH:\n  " + "\n  ".join(problems))

    if args.db:
        from sqlalchemy.orm import Session

        from gridgeo.cli.common import engine_for
        from gridgeo.store.generations import create_generation
        from gridgeo.store.units import insert_units
        from gridgeo.workflows import planner

        with engine_for() as engine, Session(engine) as session:
            draft = create_generation(session, note="bench/diff.py edit (rolled back)")
            insert_units(session, draft.id, new)
            session.flush()
            t3 = time.perf_counter()
            body = planner.diff(session, 1, draft.id)
            t4 = time.perf_counter()
            session.rollback()
        print(
            f"planner.diff on PostGIS: {t4 - t3:8.2f} s "
            f"({body['events']['considered']:,} events located)"
        )
        db = {
            g: {
                "area_moved_m2": float(t["area_moved_m2"]),
                "households": float(t["households_reattributed"]),
                "events": float(t.get("events_reattributed", 0)),
            }
            for g, t in body["totals"].items()
        }
        db_problems = agree(db, theirs)
        print(
            "workflow numbers agree"
            if not db_problems
            else "WORKFLOW MISMATCH:\n  " + "\n  ".join(db_problems)
        )
        problems += db_problems
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
