"""``gridgeo events import|list|act|indicators|overdue``: the event closed loop."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pandas as pd
import typer

from gridgeo.cli.common import session_scope
from gridgeo.events.indicators import indicators as compute_indicators
from gridgeo.events.indicators import overdue_list
from gridgeo.locate import LocateIndex
from gridgeo.store import events as store
from gridgeo.store.generations import active_generation
from gridgeo.store.units import read_units
from gridgeo.workflows.events import import_events, read_event_file

app = typer.Typer(help="Events (事件/部件问题): import, act, indicators.", no_args_is_help=True)


@app.command("import")
def import_command(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or GeoJSON."),
    all_or_nothing: bool = typer.Option(False, help="Refuse the file if any row is bad."),
) -> None:
    """Import events idempotently (by external_id); bad rows are listed with reasons."""
    frame = read_event_file(path.read_bytes(), path.name)
    with session_scope() as session:
        generation = active_generation(session)
        index = LocateIndex.build(read_units(session, generation.id), generation=str(generation.id))
        result = import_events(session, frame, index, all_or_nothing=all_or_nothing)
    typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))


@app.command("list")
def list_command(
    grid: str = typer.Option(None),
    status: str = typer.Option(None),
    category: str = typer.Option(None),
    limit: int = typer.Option(20),
) -> None:
    """List events, newest first."""
    with session_scope() as session:
        body = store.list_events(session, grid=grid, status=status, category=category, limit=limit)
    typer.echo(f"{body['total']} events")
    for feature in body["features"]:
        p = feature["properties"]
        typer.echo(f"{p['event_id']}\t{p['status']}\t{p['category_l2']}\t{p['owner_code']}")


@app.command()
def act(
    event_id: str = typer.Argument(...),
    action: str = typer.Argument(..., help="verify, register, dispatch, handle, …"),
    actor: str = typer.Option("cli", help="Who acts."),
    comment: str = typer.Option(None),
    hours: float = typer.Option(None, help="Working hours, for defer."),
) -> None:
    """Apply a workflow action to an event."""
    with session_scope() as session:
        body = store.apply_action(
            session, event_id, action, actor=actor, comment=comment, hours=hours
        )
    props = body["properties"]
    typer.echo(f"{event_id}: {props['status']} (next: {', '.join(props['allowed_actions'])})")


@app.command()
def indicators(
    start: datetime = typer.Option(..., help="Period start, with timezone."),
    end: datetime = typer.Option(..., help="Period end (exclusive), with timezone."),
    by: str = typer.Option("street_code", help="grid_code, street_code or department."),
    out: Path = typer.Option(None, help="Write CSV here instead of printing."),
) -> None:
    """Counts, 按期结案率, closure rate, mean handling hours, overdue per unit."""
    with session_scope() as session:
        frame = store.events_frame(session)
    now = min(pd.Timestamp(end), pd.Timestamp.now(tz="UTC"))
    table = compute_indicators(frame, by=by, period_start=start, period_end=end, now=now)
    if out:
        table.to_csv(out)
        typer.echo(f"wrote {out}")
    else:
        typer.echo(table.to_string())


@app.command()
def overdue() -> None:
    """Open events past their due time, most overdue first."""
    with session_scope() as session:
        frame = store.events_frame(session)
    table = overdue_list(frame, pd.Timestamp.now(tz="UTC"))
    typer.echo(table.head(50).to_string() if len(table) else "no overdue events")
