"""``gridgeo tracks import|coverage|flags``: GPS patrol tracks."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pandas as pd
import typer
from sqlalchemy import text

from gridgeo.cli.common import engine_for, session_scope
from gridgeo.store.activity import insert_fixes
from gridgeo.tracks import read_fixes, validate_fixes
from gridgeo.workflows.analytics import AnalyticsData

app = typer.Typer(help="GPS patrol tracks: import, coverage, authenticity.", no_args_is_help=True)


@app.command("import")
def import_command(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV, GPX or GeoJSON."),
    crs: str = typer.Option(None, help="Device CRS when the file does not say."),
    worker_id: str = typer.Option(None, help="Worker of a GPX/GeoJSON file without one."),
    all_or_nothing: bool = typer.Option(False, help="Refuse the file if any row is bad."),
) -> None:
    """Store fixes (good rows kept, bad rows listed with reasons)."""
    frame = read_fixes(path, filename=path.name, crs=crs, worker_id=worker_id)
    with session_scope() as session:
        workers = set(session.execute(text("SELECT worker_id FROM workers")).scalars())
        good, rejects = validate_fixes(
            frame, workers, now=pd.Timestamp.now("UTC"), all_or_nothing=all_or_nothing
        )
        stored = insert_fixes(session, good)
    typer.echo(f"stored {stored} fixes; rejected {len(rejects)} rows")
    if len(rejects):
        typer.echo(rejects.head(20).to_string(index=False))


@app.command()
def coverage(
    start: datetime = typer.Option(None, help="Default: 30 days before the last fix."),
    end: datetime = typer.Option(None),
    by: str = typer.Option("grid", help="grid or worker."),
    out: Path = typer.Option(None, help="CSV output."),
) -> None:
    """巡查覆盖率 per grid or per worker."""
    with engine_for() as engine:
        analysis, _ = AnalyticsData(engine).tracks(start, end)
    table = analysis.coverage if by == "grid" else analysis.worker_coverage
    if out:
        table.to_csv(out, index=False)
        typer.echo(f"wrote {out}")
    else:
        typer.echo(table.head(50).to_string(index=False))


@app.command()
def flags(
    start: datetime = typer.Option(None),
    end: datetime = typer.Option(None),
    kind: str = typer.Option(None, help="teleport, replay, stationary, outside, …"),
) -> None:
    """Patrols flagged as possibly not genuine, with reasons."""
    with engine_for() as engine:
        analysis, _ = AnalyticsData(engine).tracks(start, end)
    table = analysis.flags if kind is None else analysis.flags[analysis.flags["kind"] == kind]
    for row in table.itertuples():
        typer.echo(f"{row.worker_id}\t{row.kind}\t{row.start}\t{row.reason}")
    typer.echo(json.dumps(table["kind"].value_counts().to_dict()))
