"""``gridgeo locate``: owner grid of one point or of every row of a CSV file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import typer
from sqlalchemy.orm import Session

from gridgeo.cli.common import engine_for
from gridgeo.crs import CRS_HELP, check_lonlat, parse_crs, point_to_wgs84
from gridgeo.errors import InvalidInput
from gridgeo.locate import LocateIndex
from gridgeo.store.generations import active_generation
from gridgeo.store.units import read_units

CHUNK = 200_000


def _index() -> LocateIndex:
    with engine_for() as engine, Session(engine) as session:
        generation = active_generation(session)
        return LocateIndex.build(read_units(session, generation.id), generation=str(generation.id))


def locate(
    file: Path = typer.Argument(
        None, exists=True, dir_okay=False, help="CSV with lon,lat columns (optional id)."
    ),
    lon: float = typer.Option(None, help="Longitude of one point."),
    lat: float = typer.Option(None, help="Latitude of one point."),
    crs: str = typer.Option("wgs84", help=CRS_HELP),
    within: float = typer.Option(None, help="Nearest grid within this many metres."),
    out: Path = typer.Option(None, "--out", help="Output CSV (default: standard output)."),
) -> None:
    """Which grid owns a coordinate: one point (--lon/--lat) or a CSV file of points."""
    spec = parse_crs(crs)
    if file is None:
        if lon is None or lat is None:
            raise InvalidInput("give --lon and --lat, or a CSV file")
        if spec.projected:
            check_lonlat(*point_to_wgs84([lon], [lat], spec))
        else:
            check_lonlat([lon], [lat])
        index = _index()
        x, y = point_to_wgs84(np.array([lon]), np.array([lat]), spec)
        result = index.locate(x, y, within_m=within)
        body = index.point_json(result, 0, point={"lon": lon, "lat": lat, "crs": spec.name})
        typer.echo(json.dumps(body, ensure_ascii=False, indent=2))
        return
    index = _index()
    total = sum(1 for _ in file.open("rb")) - 1
    written = 0
    with typer.progressbar(length=max(total, 0), label="locating") as progress:
        for n, chunk in enumerate(pd.read_csv(file, chunksize=CHUNK, dtype={"id": str})):
            chunk.columns = [str(c).strip().lower() for c in chunk.columns]
            if not {"lon", "lat"} <= set(chunk.columns):
                raise InvalidInput(f"{file.name} needs lon and lat columns")
            x = pd.to_numeric(chunk["lon"], errors="coerce").to_numpy(dtype=float)
            y = pd.to_numeric(chunk["lat"], errors="coerce").to_numpy(dtype=float)
            try:
                if spec.projected:
                    x, y = point_to_wgs84(x, y, spec)
                check_lonlat(x, y)
            except InvalidInput as exc:
                raise InvalidInput(
                    f"{file.name}: data {exc.message} (offset {n * CHUNK})", exc.details
                ) from exc
            if not spec.projected:
                x, y = point_to_wgs84(x, y, spec)
            result = index.locate(x, y, within_m=within)
            chunk["owner"] = result.owner
            chunk["chain"] = ["|".join(c) for c in result.chains]
            chunk["on_boundary"] = result.on_boundary
            if within is not None:
                chunk["nearest"] = result.nearest_code
                chunk["nearest_distance_m"] = result.nearest_distance_m
            chunk["generation"] = index.generation
            if out is None:
                typer.echo(chunk.to_csv(index=False, header=n == 0), nl=False)
            else:
                chunk.to_csv(out, index=False, header=n == 0, mode="w" if n == 0 else "a")
            written += len(chunk)
            progress.update(len(chunk))
    if out is not None:
        typer.echo(f"located {written} points; wrote {out}")
