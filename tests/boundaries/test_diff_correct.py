"""The diff is correct: locate rules for events, per-level numbers, nothing for no change.

Regression tests of issue 13: ``boundaries diff 1 1`` reported 3,659 events
re-attributed (special grids ignored) and totals added levels together.
The numbers of a small edit of the sample city are checked against an
independent geopandas computation (overlay per level in EPSG:4549, events
``sjoin``-ed to both generations with the ownership rules applied by sorting).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import box
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from gridgeo.boundaries import diff_generations
from gridgeo.boundaries.diff import GROUPS, events_reattributed, group_of
from gridgeo.boundaries.redraw import replace_geometry
from gridgeo.errors import Conflict
from gridgeo.locate import LocateIndex
from gridgeo.measure import from_local_metric, to_local_metric
from gridgeo.store.generations import create_generation
from gridgeo.store.units import insert_units, read_units
from gridgeo.workflows import planner
from tests.boundaries.layouts import C1, C2, STREET, units_from
from tests.conftest import rolled_back_session

DEPTH = {"district": 0, "street": 1, "community": 2, "grid": 3, "microgrid": 4}


@pytest.fixture(scope="module")
def activity_engine(activity_city_url: str) -> Iterator[Engine]:
    engine = create_engine(activity_city_url)
    yield engine
    engine.dispose()


@pytest.fixture
def activity_db(activity_engine: Engine) -> Iterator[Session]:
    with rolled_back_session(activity_engine) as session:
        yield session


# --------------------------------------------------------------------------- oracle


def oracle_owners(units: gpd.GeoDataFrame, points: gpd.GeoDataFrame) -> pd.DataFrame:
    """Per-group chain code of each point: sjoin, sort by the rules, walk parents."""
    hits = gpd.sjoin(points, units[["code", "level", "kind", "geometry"]], predicate="intersects")
    hits["base"] = (hits["kind"] == "base").astype(int)
    hits["depth"] = -hits["level"].map(DEPTH)
    owner = hits.sort_values(["base", "depth", "code"]).groupby(level=0)["code"].first()
    parent = dict(zip(units["code"], units["parent_code"], strict=True))
    group = {
        c: group_of(lv, k) for c, lv, k in zip(units.code, units.level, units.kind, strict=True)
    }
    rows = []
    for i in points.index:
        chain, code = {}, owner.get(i)
        while isinstance(code, str):
            chain[group[code]] = code
            code = parent.get(code)
        rows.append(chain)
    return pd.DataFrame(rows, index=points.index).reindex(columns=list(GROUPS))


def oracle(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, points: gpd.GeoDataFrame) -> dict:
    out: dict[str, dict[str, float]] = {}
    o, n = old.to_crs(4549), new.to_crs(4549)
    o["g"] = [group_of(lv, k) for lv, k in zip(o.level, o.kind, strict=True)]
    n["g"] = [group_of(lv, k) for lv, k in zip(n.level, n.kind, strict=True)]
    o["area_old"] = o.area
    for g in GROUPS:
        a = o.loc[o.g == g, ["code", "households", "area_old", "geometry"]]
        b = n.loc[n.g == g, ["code", "geometry"]]
        if a.empty or b.empty:
            continue
        pieces = gpd.overlay(a, b, how="intersection", keep_geom_type=True)
        pieces = pieces[pieces.code_1 != pieces.code_2]
        area = pieces.area
        keep = area >= 0.01
        hh = pieces.households.astype(float) * area / pieces.area_old
        out[g] = {"area": float(area[keep].sum()), "households": float(hh[keep].sum())}
    before, after = oracle_owners(old, points), oracle_owners(new, points)
    for g in GROUPS:
        same = (before[g] == after[g]) | (before[g].isna() & after[g].isna())
        out.setdefault(g, {"area": 0.0, "households": 0.0})["events"] = int((~same).sum())
    return out


def grow_edit(units: gpd.GeoDataFrame, code: str, neighbour: str, shift_m: float):
    """``code`` takes a strip of ``shift_m`` metres from ``neighbour`` (neighbours adjusted)."""
    me = units.loc[units.code == code].geometry.iloc[0]
    other = units.loc[units.code == neighbour].geometry.iloc[0]
    (me_m, other_m), crs = to_local_metric([me, other])
    edge = shapely.intersection(me_m.boundary, other_m.boundary)
    strip = shapely.intersection(other_m, edge.buffer(shift_m, cap_style="flat"))
    grown = from_local_metric([shapely.union(me_m, strip).buffer(0)], crs)[0]
    return replace_geometry(units, code, grown).units


def busy_edit(session: Session, units: gpd.GeoDataFrame) -> tuple[str, gpd.GeoDataFrame]:
    """A busy base grid takes a 50 m strip from a sibling sharing a long edge with it."""
    rows = session.execute(
        text(
            "SELECT owner_code FROM events WHERE length(owner_code) = 18 "
            "GROUP BY 1 ORDER BY count(*) DESC LIMIT 50"
        )
    ).scalars()
    grids = units[(units.level == "grid") & (units.kind == "base")].set_index("code")
    for micro in rows:
        code = micro[:15]
        if code not in grids.index:
            continue
        sib = grids[(grids.parent_code == grids.at[code, "parent_code"]) & (grids.index != code)]
        shared = shapely.length(
            shapely.intersection(sib.geometry.values, grids.at[code, "geometry"].boundary)
        )
        if len(sib) and shared.max() > 0.002:
            try:
                return code, grow_edit(units, code, str(sib.index[int(np.argmax(shared))]), 50.0)
            except Conflict:  # the strip would cut the neighbour apart: try another grid
                continue
    raise AssertionError("no busy grid with a sibling")


# --------------------------------------------------------------------------- sample city


def test_generation_against_itself_moves_nothing(activity_db: Session) -> None:
    body = planner.diff(activity_db, 1, 1)
    assert body["added"] == [] and body["removed"] == [] and body["changed"] == []
    assert body["events"]["owner_changed"] == 0
    for numbers in body["totals"].values():
        assert numbers["area_moved_m2"] == 0
        assert numbers["households_reattributed"] == 0
        assert numbers["events_reattributed"] == 0
    assert "no differences" in body["text"]


def test_identical_copy_reports_no_events_although_specials_own_events(
    activity_db: Session,
) -> None:
    specials = activity_db.execute(
        text("SELECT count(*) FROM events WHERE substr(owner_code, 13, 3) >= '801'")
    ).scalar_one()
    assert specials > 0  # special grids own events: the old SQL counted them all as moved
    copy = create_generation(activity_db, "copy-of-1")
    insert_units(activity_db, copy.id, read_units(activity_db, 1))
    body = planner.diff(activity_db, 1, copy.id)
    assert body["unchanged"] == 8495
    assert body["events"] == {
        "considered": 0,
        "owner_changed": 0,
        "by_level": {},
        "flows": [],
        "flows_total": 0,
    }
    assert all(n["events_reattributed"] == 0 for n in body["totals"].values())


def test_small_edit_matches_independent_computation(activity_db: Session) -> None:
    units = read_units(activity_db, 1)
    code, new = busy_edit(activity_db, units)
    draft = create_generation(activity_db, "edit")
    insert_units(activity_db, draft.id, new)
    lines: list[str] = []
    body = planner.diff(activity_db, 1, draft.id, progress=lines.append)
    assert any("units differ" in line for line in lines)

    # The oracle locates every event within 1 km of the two grids.
    both = units.loc[units.code == code].geometry.union_all()
    x0, y0, x1, y1 = both.bounds
    pts = activity_db.execute(
        text(
            "SELECT ST_X(geom), ST_Y(geom) FROM events "
            "WHERE geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4490)"
        ),
        {"x0": x0 - 0.01, "y0": y0 - 0.01, "x1": x1 + 0.01, "y1": y1 + 0.01},
    ).all()
    points = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy([p[0] for p in pts], [p[1] for p in pts]), crs=4490
    )
    expected = oracle(units, new, points)
    totals = body["totals"]
    assert totals["grid"]["area_moved_m2"] > 10_000  # about 50 m along the shared edge
    assert totals["grid"]["events_reattributed"] > 0
    for g, want in expected.items():
        got = totals.get(g, {})
        assert got.get("area_moved_m2", 0) == pytest.approx(want["area"], rel=1e-3, abs=0.5), g
        assert got.get("households_reattributed", 0) == pytest.approx(
            want["households"], rel=1e-3, abs=0.5
        ), g
        assert got.get("events_reattributed", 0) == want["events"], g
    # Nothing outside the community moved: the street and community levels are untouched.
    assert totals["community"]["area_moved_m2"] == 0
    assert totals["street"]["events_reattributed"] == 0


# --------------------------------------------------------------------------- synthetic


def unit(code, geom, parent=None, hh=None, kind="base", ft=0):
    level = {6: "district", 9: "street", 12: "community", 15: "grid", 18: "microgrid"}[len(code)]
    return {
        "code": code,
        "parent_code": parent,
        "level": level,
        "kind": kind,
        "name": code[-3:],
        "households": hh,
        "full_time_workers": ft,
        "geometry": geom,
    }


def two_communities(edge: float) -> gpd.GeoDataFrame:
    """C1 = [0, edge] x [0, 1000], C2 = [edge, 2000]; one grid each."""
    return units_from(
        [
            unit(STREET, box(0, 0, 2000, 1000)),
            unit(C1, box(0, 0, edge, 1000), STREET),
            unit(C2, box(edge, 0, 2000, 1000), STREET),
            unit(C1 + "001", box(0, 0, edge, 1000), C1, hh=400, ft=1),
            unit(C2 + "001", box(edge, 0, 2000, 1000), C2, hh=500, ft=1),
        ]
    )


def test_strip_between_communities_is_counted_once_per_level() -> None:
    diff = diff_generations(two_communities(1000), two_communities(1025))
    totals = diff.totals()
    strip = 25 * 1000
    assert totals["grid"]["area_moved_m2"] == pytest.approx(strip, rel=1e-3)
    assert totals["community"]["area_moved_m2"] == pytest.approx(strip, rel=1e-3)
    assert totals["street"]["area_moved_m2"] == 0
    assert totals["grid"]["households_reattributed"] == pytest.approx(500 * 25 / 1000, rel=1e-3)
    assert "area_moved_m2" not in totals  # no sum across levels
    assert totals["grid"]["changed"] == 2 and totals["street"]["unchanged"] == 1
    text_summary = diff.to_text()
    assert "grid: 0 added, 0 removed, 2 changed" in text_summary
    assert "street" not in text_summary  # untouched levels stay out of the summary
    pieces = diff.geometry_feature_collection()["features"]
    assert {f["properties"]["level"] for f in pieces} == {"grid", "community"}
    assert all(f["properties"]["from_code"][:12] == C2 for f in pieces)


def special_layout(edge: float) -> gpd.GeoDataFrame:
    """Community C1 with grids 001 | 002 split at ``edge``; special 801 over [400, 600]."""
    return units_from(
        [
            unit(C1, box(0, 0, 1000, 1000)),
            unit(C1 + "001", box(0, 0, edge, 1000), C1, hh=300),
            unit(C1 + "002", box(edge, 0, 1000, 1000), C1, hh=300),
            unit(C1 + "801", box(400, 400, 600, 600), C1, kind="special"),
        ]
    )


def test_events_owned_by_a_special_grid_do_not_move_with_the_base_grids() -> None:
    from tests.boundaries.layouts import GK, X0, Y0

    old, new = special_layout(450), special_layout(700)  # the edge moves under the special
    # Local-metre points: 3 inside the special grid, 2 in the strip outside it, 1 far away.
    local = [(500, 500), (550, 450), (460, 590), (650, 100), (500, 900), (100, 100)]
    pts = gpd.GeoSeries([shapely.Point(x + X0, y + Y0) for x, y in local], crs=GK).to_crs(4490)
    diff = diff_generations(old, new)
    result = events_reattributed(
        LocateIndex.build(old, cell_size_m=None),
        LocateIndex.build(new, cell_size_m=None),
        pts.x.to_numpy(),
        pts.y.to_numpy(),
        diff.groups,
    )
    assert result.by_level == {"grid": 2}
    assert result.owner_changed == 2
    assert result.flows.to_dict("records") == [
        {"from_code": C1 + "002", "to_code": C1 + "001", "events": 2}
    ]


def test_point_on_a_moved_edge_follows_the_lowest_code() -> None:
    """A point on the new shared edge belongs to the lower code in the new generation."""
    from tests.boundaries.layouts import GK, X0, Y0

    old, new = special_layout(450), special_layout(700)
    edge_point = gpd.GeoSeries([shapely.Point(700 + X0, 100 + Y0)], crs=GK).to_crs(4490)
    diff = diff_generations(old, new)
    result = events_reattributed(
        LocateIndex.build(old, cell_size_m=None),
        LocateIndex.build(new, cell_size_m=None),
        edge_point.x.to_numpy(),
        edge_point.y.to_numpy(),
        diff.groups,
    )
    # old: inside 002; new: on the 001|002 edge -> 001 (lowest code)
    assert result.by_level == {"grid": 1}


# --------------------------------------------------------------------------- HTTP and CLI


def test_http_diff_geometry_only_when_asked(city_client, city_db: Session) -> None:
    old = read_units(city_db, 1)
    grids = old[(old.level == "grid") & (old.kind == "base")].set_index("code")
    for code in grids.index[:40]:
        sib = grids[(grids.parent_code == grids.at[code, "parent_code"]) & (grids.index != code)]
        if not len(sib):
            continue
        edge = grids.at[code, "geometry"].boundary
        shared = shapely.length(shapely.intersection(sib.geometry.values, edge))
        try:
            new = grow_edit(old, code, str(sib.index[int(np.argmax(shared))]), 30.0)
            break
        except Conflict:
            continue
    draft = create_generation(city_db, "http-edit")
    insert_units(city_db, draft.id, new)
    city_db.flush()
    plain = city_client.get(f"/v1/generations/1/diff/{draft.id}")
    assert plain.status_code == 200, plain.text
    assert "geometry" not in plain.json()
    shaped = city_client.get(f"/v1/generations/1/diff/{draft.id}?geometry=true")
    assert shaped.status_code == 200
    body = shaped.json()
    features = body["geometry"]["features"]
    assert features and body["geometry"]["type"] == "FeatureCollection"
    moved = sum(
        f["properties"]["area_m2"]
        for f in features
        if f["properties"]["level"] == "grid"
        and f["properties"]["from_code"]
        and f["properties"]["to_code"]
    )
    assert moved == pytest.approx(body["totals"]["grid"]["area_moved_m2"], rel=1e-3)
    # The pieces lie where the edit happened.
    piece = shapely.geometry.shape(features[0]["geometry"])
    assert piece.intersects(grids.at[code, "geometry"].buffer(0.001))
    assert len(shaped.content) < 200_000


def test_cli_diff_prints_a_summary_and_progress(city_url: str) -> None:
    env = {**os.environ, "GRIDGEO_DATABASE_URL": city_url}
    run = subprocess.run(
        [sys.executable, "-m", "gridgeo.cli", "boundaries", "diff", "1", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "no differences" in run.stdout
    assert "units differ" in run.stderr and "diff done" in run.stderr
    as_json = subprocess.run(
        [sys.executable, "-m", "gridgeo.cli", "boundaries", "diff", "1", "1", "--json", "-q"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert as_json.returncode == 0 and as_json.stderr == ""
    assert json.loads(as_json.stdout)["totals"]["grid"]["events_reattributed"] == 0


def test_cli_export_reports_progress(city_url: str, tmp_path) -> None:
    env = {**os.environ, "GRIDGEO_DATABASE_URL": city_url}
    out = tmp_path / "units.parquet"
    run = subprocess.run(
        [sys.executable, "-m", "gridgeo.cli", "boundaries", "export", "1", "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "writing 8,495 units as parquet" in run.stderr and "export done" in run.stderr
    assert len(gpd.read_parquet(out)) == 8495
