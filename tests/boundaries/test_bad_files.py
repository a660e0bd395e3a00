"""Issue 12: a corpus of bad boundary files gives clear 4xx errors / CLI messages, never a crash."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely
from sqlalchemy.orm import Session

from gridgeo.boundaries import io as boundary_io
from gridgeo.boundaries import read_boundaries
from gridgeo.errors import InvalidInput, PayloadTooLarge
from gridgeo.tempdirs import make_temp_dir, remove_stale_temp_dirs
from gridgeo.workflows import planner

CODE = "330109001001001"


def geojson(rows: list[dict[str, Any]], coords: list[Any] | None = None) -> bytes:
    features = []
    for i, props in enumerate(rows):
        ring = coords or [
            [120.1 + i / 100, 30.1],
            [120.105 + i / 100, 30.1],
            [120.105 + i / 100, 30.105],
            [120.1 + i / 100, 30.1],
        ]
        features.append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def test_duplicate_codes_are_refused_before_the_database(db: Session) -> None:
    data = geojson([{"code": CODE}, {"code": "330109001001002"}, {"code": CODE}])
    with pytest.raises(InvalidInput) as caught:
        planner.import_boundaries(db, data, filename="dup.geojson", crs="cgcs2000")
    assert CODE in caught.value.message and "code" in caught.value.message
    assert caught.value.details["rows"] == [0, 2]


def test_codes_with_letters_are_refused(db: Session) -> None:
    for code in ("33010900100100A", "３３０１０９００１００１００１"):
        with pytest.raises(InvalidInput) as caught:
            planner.import_boundaries(
                db,
                geojson([{"code": CODE[:-3] + "002"}, {"code": code}]),
                filename="letters.geojson",
                crs="cgcs2000",
            )
        assert "code" in caught.value.message and "row 1" in caught.value.message


def test_households_beyond_32_bits_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        read_boundaries(
            geojson([{"code": CODE, "户数": 10**12}]), filename="h.geojson", crs="cgcs2000"
        )
    assert "户数" in caught.value.message and "row 0" in caught.value.message


def test_unknown_encoding_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="encoding"):
        read_boundaries(geojson([{"code": CODE}]), filename="e.geojson", encoding="bogus")
    frame = gpd.GeoDataFrame(
        {"code": [CODE]}, geometry=[shapely.box(120.1, 30.1, 120.2, 30.2)], crs=4490
    )
    frame.to_file(tmp_path / "g.shp", engine="pyogrio")
    (tmp_path / "g.cpg").write_text("bogus")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for part in tmp_path.glob("g.*"):
            zf.write(part, part.name)
    units = read_boundaries(buffer.getvalue(), filename="g.zip")  # the bad .cpg is ignored
    assert units["code"].tolist() == [CODE]
    assert any("unknown encoding" in n for n in units.attrs["import"]["notes"])


@pytest.mark.parametrize("bad", ["NaN", "Infinity"])
def test_non_finite_vertices_are_refused(bad: str) -> None:
    ring = f"[[120.1, 30.1], [{bad}, 30.1], [120.2, 30.2], [120.1, 30.1]]"
    data = (
        '{"type": "FeatureCollection", "features": [{"type": "Feature", '
        f'"properties": {{"code": "{CODE}"}}, '
        f'"geometry": {{"type": "Polygon", "coordinates": [{ring}]}}}}]}}'
    ).encode()
    with pytest.raises(InvalidInput) as caught:
        read_boundaries(data, filename="nan.geojson", crs="cgcs2000")
    assert "row 0" in caught.value.message


def test_nan_vertex_in_a_geoparquet_is_refused(tmp_path: Path) -> None:
    polygon = shapely.Polygon([(120.1, 30.1), (float("nan"), 30.1), (120.2, 30.2)])
    frame = gpd.GeoDataFrame({"code": [CODE]}, geometry=[polygon], crs=4490)
    frame.to_parquet(tmp_path / "nan.parquet")
    with pytest.raises(InvalidInput, match="not finite"):
        read_boundaries(tmp_path / "nan.parquet")


def test_control_characters_in_attributes_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        read_boundaries(
            geojson([{"code": CODE, "name": "网格\u0001"}]), filename="c.geojson", crs="cgcs2000"
        )
    assert "name" in caught.value.message and "row" in caught.value.message


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def test_zip_with_too_many_members_is_refused() -> None:
    data = _zip({f"f{i}.txt": b"x" for i in range(boundary_io.ZIP_MAX_MEMBERS + 1)})
    with pytest.raises(PayloadTooLarge, match="members"):
        read_boundaries(data, filename="many.zip")


def test_zip_bomb_is_refused_from_the_header() -> None:
    bomb = _zip({"grids.shp": b"", "grids.shx": b"", "grids.dbf": bytes(64 << 20)})
    assert len(bomb) < 200_000
    with pytest.raises(PayloadTooLarge, match="compressed"):
        read_boundaries(bomb, filename="bomb.zip")


def test_zip_total_size_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(boundary_io, "ZIP_MAX_BYTES", 1 << 20)
    big = _zip({"grids.shp": b"", "grids.shx": b"", "grids.dbf": os.urandom(2 << 20)})
    with pytest.raises(PayloadTooLarge, match="expands"):
        read_boundaries(big, filename="big.zip")


def test_zip_lying_about_its_size_is_stopped_while_streaming(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    payload = os.urandom(3 << 20)
    data = bytearray(
        _zip(
            {"grids.shp": b"", "grids.shx": b"", "grids.dbf": payload},
            compression=zipfile.ZIP_STORED,
        )
    )
    # Rewrite the declared uncompressed size of grids.dbf (local and central headers) to 1 KiB.
    real = len(payload).to_bytes(4, "little")
    fake = (1024).to_bytes(4, "little")
    assert data.count(real) >= 2
    data = bytearray(bytes(data).replace(real + b"\x09\x00", fake + b"\x09\x00"))
    with pytest.raises((PayloadTooLarge, InvalidInput)):
        read_boundaries(bytes(data), filename="liar.zip")


def test_stale_temp_dirs_of_dead_processes_are_removed(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    pid = int(dead.stdout)
    stale = tmp_path / f"gridgeo-import-{pid}-abc123"
    stale.mkdir()
    (stale / "upload.zip").write_bytes(b"x")
    mine = tmp_path / f"gridgeo-import-{os.getpid()}-def456"
    mine.mkdir()
    legacy = tmp_path / "gridgeo-shp-q1w2e3r4"
    legacy.mkdir()
    other = tmp_path / "not-gridgeo"
    other.mkdir()
    removed = remove_stale_temp_dirs(tmp_path, now=time.time())
    assert removed == [stale]
    assert mine.exists() and legacy.exists() and other.exists()
    remove_stale_temp_dirs(tmp_path, now=time.time() + 2 * 86400)
    assert not legacy.exists() and mine.exists()


def test_temp_dirs_carry_the_pid() -> None:
    path = make_temp_dir("export")
    try:
        assert path.name.startswith(f"gridgeo-export-{os.getpid()}-")
    finally:
        path.rmdir()


def run_cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GRIDGEO_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "gridgeo.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_cli_import_of_bad_files_exits_cleanly(fresh_city_url: str, tmp_path: Path) -> None:
    cases = {
        "dup.geojson": (geojson([{"code": CODE}, {"code": CODE}]), "appear more than once"),
        "letters.geojson": (geojson([{"code": "33010900100100A"}]), "ASCII digits"),
        "households.geojson": (geojson([{"code": CODE, "households": 10**12}]), "households"),
    }
    for name, (data, expected) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        result = run_cli(fresh_city_url, "boundaries", "import", str(path), "--crs", "cgcs2000")
        assert result.returncode == 1, (name, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr and expected in result.stderr, result.stderr
    path = tmp_path / "ok.geojson"
    path.write_bytes(geojson([{"code": CODE}]))
    result = run_cli(
        fresh_city_url,
        "boundaries",
        "import",
        str(path),
        "--crs",
        "cgcs2000",
        "--encoding",
        "bogus",
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "encoding" in result.stderr


def test_remaining_constraint_errors_are_mapped_without_sql(db: Session) -> None:
    from sqlalchemy.exc import DBAPIError

    from gridgeo.errors import Conflict
    from gridgeo.store.db import translate_error
    from gridgeo.store.generations import create_generation
    from gridgeo.store.units import insert_units

    generation = create_generation(db, "constraint-test")
    units = gpd.GeoDataFrame(
        {"code": [CODE, CODE], "level": ["grid", "grid"]},
        geometry=[shapely.box(120.1, 30.1, 120.2, 30.2)] * 2,
        crs=4490,
    )
    with pytest.raises(DBAPIError) as caught, db.begin_nested():
        insert_units(db, generation.id, units)
    mapped = translate_error(caught.value)
    assert isinstance(mapped, Conflict)
    assert mapped.details["constraint"] == "uq_grid_units_generation_code"
    assert "INSERT" not in mapped.message and CODE not in mapped.message
    units = units.iloc[:1].assign(households=[10**12])
    with pytest.raises(DBAPIError) as caught, db.begin_nested():
        insert_units(db, generation.id, units)
    mapped = translate_error(caught.value)
    assert isinstance(mapped, InvalidInput) and "out of range" in mapped.message
