"""validate_units: planted problems are found, named, located and measured."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely import box

from gridgeo.boundaries import RULES, validate_units
from gridgeo.errors import CRSMismatch, InvalidInput
from tests.boundaries.layouts import C1, C2, C3, at, inside, units_from


def one(report, rule, codes=None):
    found = [i for i in report.issues if i.rule == rule and (codes is None or i.codes == codes)]
    assert len(found) == 1, (rule, codes, [i.to_text() for i in report.issues])
    return found[0]


def test_planted_problems_are_each_named_located_and_measured(planted):
    report = validate_units(planted)
    assert not report.ok

    overlap = one(report, "overlap")
    assert overlap.severity == "error"
    assert overlap.codes == [C1 + "003", C1 + "004"]
    assert overlap.area_m2 == pytest.approx(20 * 500, rel=0.01)
    assert inside(overlap.location, box(500, 500, 520, 1000))

    gaps = [i for i in report.by_rule("gap") if C1 in i.codes]
    assert len(gaps) == 1
    assert gaps[0].area_m2 == pytest.approx(100 * 100, rel=0.01)
    assert inside(gaps[0].location, box(200, 200, 300, 300))
    assert C1 + "001" in gaps[0].codes

    sliver = one(report, "sliver")
    assert sliver.area_m2 == pytest.approx(0.5 * 500, rel=0.01)
    assert inside(sliver.location, box(500, 0, 500.5, 500))
    assert {C1 + "001", C1 + "002"} <= set(sliver.codes)

    bowtie = one(report, "invalid_geometry")
    assert bowtie.severity == "error" and bowtie.codes == [C2 + "002"]
    assert "Self-intersection" in bowtie.message
    assert inside(bowtie.location, shapely.Point(1750, 500), tol=0.05)

    outside = one(report, "outside_parent")
    assert outside.codes == [C2 + "001", C2]
    assert outside.area_m2 == pytest.approx(500 * 50, rel=0.01)
    assert inside(outside.location, box(1000, 1000, 1500, 1050))
    assert outside.details["max_distance_m"] == pytest.approx(50, abs=0.1)

    special = one(report, "special_crosses_community")
    assert special.codes[:3] == [C1 + "801", C1, C2]
    assert special.area_m2 == pytest.approx(100 * 200, rel=0.01)
    assert inside(special.location, box(1000, 100, 1100, 300))

    dup = one(report, "duplicate_code")
    assert dup.codes == [C3 + "001"] and dup.rows == [10, 11]
    assert one(report, "missing_name").rows == [11]

    # The problem geometries come back as lon/lat WKT covering the location.
    for issue in (overlap, gaps[0], sliver, outside, special):
        geom = shapely.from_wkt(issue.geometry_wkt)
        assert geom.buffer(1e-7).contains(shapely.Point(issue.location))


def test_report_as_json_and_text(planted):
    report = validate_units(planted)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["ok"] is False
    assert data["errors"] == len(report.errors) and data["warnings"] == len(report.warnings)
    assert {i["rule"] for i in data["issues"]} <= set(RULES)
    first = data["issues"][0]
    assert set(first) >= {"severity", "rule", "codes", "message", "location", "area_m2"}
    lines = report.to_text().splitlines()
    assert len(lines) == 1 + len(report.issues)
    overlap_line = next(line for line in lines if " overlap:" in line)
    assert "m²" in overlap_line and " at 120." in overlap_line
    assert lines[0].startswith(f"{len(report.errors)} errors")
    # Errors come first.
    severities = [i.severity for i in report.issues]
    assert severities == sorted(severities, key=lambda s: s != "error")


def test_repair_fixes_the_bowtie_and_reports_the_change(planted):
    report = validate_units(planted, repair=True)
    assert not [i for i in report.errors if i.rule == "invalid_geometry"]
    assert len(report.changes) == 1
    change = report.changes[0]
    assert change["code"] == C2 + "002" and change["row"] == 9
    assert change["area_before_m2"] == pytest.approx(0, abs=1)
    assert change["area_after_m2"] == pytest.approx(2 * 500 * 500 / 2, rel=0.01)
    assert (change["parts_before"], change["parts_after"]) == (1, 2)
    warning = one(report, "invalid_geometry")
    assert warning.severity == "warning" and "repaired" in warning.message
    fixed = report.repaired
    assert fixed is not None and fixed.crs.to_epsg() == 4490
    assert fixed.is_valid.all() and (fixed.geom_type == "MultiPolygon").all()
    # Untouched rows keep their geometry; the input is not modified.
    assert fixed.geometry[3].equals(shapely.MultiPolygon([planted.geometry[3]]))
    assert not planted.geometry[9].is_valid
    assert "REPAIRED row 9" in report.to_text()


def test_clean_coverage_has_no_issues(clean):
    report = validate_units(clean)
    assert report.issues == [], report.to_text()
    assert report.ok and report.checked == len(clean)


def test_digitising_noise_within_tolerance_is_accepted(clean):
    noisy = clean.copy()
    # G1 drawn 0.3 m beyond C1's west edge: within the 1 m tolerance.
    noisy.loc[3, "geometry"] = units_from(
        [{"code": C1 + "001", "geometry": box(-0.3, 0, 500, 500)}]
    ).geometry[0]
    assert validate_units(noisy).ok
    strict = validate_units(noisy, tolerance_m=0.1)
    issue = one(strict, "outside_parent")
    assert issue.codes == [C1 + "001", C1]
    assert issue.area_m2 == pytest.approx(0.3 * 500, rel=0.02)


def test_holes_without_parent_polygon_are_warnings_unless_filled():
    grids = [
        {"code": C1 + "001", "name": "a", "geometry": box(0, 0, 300, 100)},
        {"code": C1 + "002", "name": "b", "geometry": box(0, 200, 300, 300)},
        {"code": C1 + "003", "name": "c", "geometry": box(0, 100, 100, 200)},
        {"code": C1 + "004", "name": "d", "geometry": box(200, 100, 300, 200)},
    ]
    report = validate_units(units_from(grids), official=False)
    gap = one(report, "gap")
    assert gap.severity == "warning" and report.ok
    assert gap.area_m2 == pytest.approx(100 * 100, rel=0.01)
    assert inside(gap.location, box(100, 100, 200, 200))
    # A grid of another community fills the hole: no gap.
    filled = grids + [{"code": C2 + "001", "name": "e", "geometry": box(100, 100, 200, 200)}]
    assert not validate_units(units_from(filled), official=False).by_rule("gap")


def test_codes_names_households_and_compactness():
    rows = [
        {
            "code": C1 + "001",
            "name": "a",
            "households": 900,
            "full_time_workers": 1,
            "geometry": box(0, 0, 500, 500),
        },
        {
            "code": C1 + "002",
            "name": "a",
            "households": 900,
            "full_time_workers": 2,
            "geometry": box(500, 0, 1000, 500),
        },
        {"code": None, "name": "c", "geometry": box(0, 500, 500, 1000)},
        {"code": C1 + "000", "name": "d", "geometry": box(500, 500, 1000, 1000)},
        {"code": C1 + "005", "name": "strip", "geometry": box(0, 1000, 2000, 1020)},
        {"code": "330109001999", "name": "x", "geometry": box(5000, 0, 5100, 100)},
    ]
    report = validate_units(units_from(rows))
    hh = one(report, "households_out_of_range")
    assert hh.codes == [C1 + "001"] and "900" in hh.message
    assert one(report, "duplicate_name").codes == [C1 + "001", C1 + "002"]
    assert one(report, "missing_code").rows == [2]
    rule = one(report, "code_rule")
    assert rule.codes == [C1 + "000"] and "sequence" in rule.message
    low = one(report, "low_compactness")
    assert low.codes == [C1 + "005"] and low.details["polsby_popper"] < 0.2
    assert one(report, "unknown_official_code").codes == ["330109001999"]
    assert not validate_units(units_from(rows), official=False).by_rule("unknown_official_code")
    relaxed = validate_units(
        units_from(rows),
        households_range=(300, 1000),
        compactness_min={"polsby_popper": 0.01, "reock": 0.0},
    )
    assert not relaxed.by_rule("households_out_of_range")
    assert not relaxed.by_rule("low_compactness")


def test_small_fragment_of_a_unit_is_a_sliver(clean):
    frag = clean.copy()
    extra = units_from([{"code": "x", "geometry": box(1500, 1000, 1505, 1005)}]).geometry[0]
    frag.loc[9, "geometry"] = shapely.MultiPolygon([*shapely.get_parts(frag.geometry[9]), extra])
    report = validate_units(frag)
    slivers = [i for i in report.by_rule("sliver") if i.details.get("between") == "part"]
    assert len(slivers) == 1 and slivers[0].codes == [C2 + "002"]
    assert slivers[0].area_m2 == pytest.approx(25, rel=0.02)


def test_unmatched_edges_are_warnings(clean):
    tjunction = clean.copy()
    # G2 gains a vertex in the middle of its west edge that G1 lacks.
    g2 = shapely.Polygon([(500, 0), (1000, 0), (1000, 500), (500, 500), (500, 250)])
    tjunction.loc[4, "geometry"] = units_from([{"code": "x", "geometry": g2}]).geometry[0]
    report = validate_units(tjunction)
    assert report.ok
    edges = report.by_rule("unmatched_edges")
    assert {c for i in edges for c in i.codes} >= {C1 + "001"}


def test_input_is_checked_and_not_modified(clean):
    before = clean.copy()
    validate_units(clean, repair=True)
    assert clean.equals(before)
    with pytest.raises(InvalidInput, match="code"):
        validate_units(clean.drop(columns="code"))
    with pytest.raises(CRSMismatch, match="no CRS"):
        validate_units(clean.set_crs(None, allow_override=True))
    projected = validate_units(clean.to_crs(4549))
    assert projected.ok


def test_locations_are_lonlat_even_for_projected_input(planted):
    report = validate_units(gpd.GeoDataFrame(planted).to_crs(4549))
    overlap = one(report, "overlap")
    assert inside(overlap.location, box(500, 500, 520, 1000))
    assert at(box(0, 0, 1, 1)).bounds[0] > 1e5  # the layouts really are in metres


def test_imported_file_validates_like_the_table(planted, tmp_path):
    from gridgeo.boundaries import read_boundaries

    path = tmp_path / "planted.gpkg"
    planted.to_crs(4549).to_file(path)
    units = read_boundaries(path)
    direct = {(i.rule, tuple(i.codes)) for i in validate_units(planted).issues}
    imported = {(i.rule, tuple(i.codes)) for i in validate_units(units).issues}
    assert imported == direct


def test_unknown_parent_is_a_warning(clean):
    orphan = units_from([{"code": C3 + "001", "name": "孤", "geometry": box(0, 2000, 100, 2100)}])
    report = validate_units(gpd.GeoDataFrame(pd.concat([clean, orphan], ignore_index=True)))
    issue = one(report, "unknown_parent")
    assert issue.codes == [C3 + "001"] and issue.details["parent_code"] == C3
    assert report.ok
