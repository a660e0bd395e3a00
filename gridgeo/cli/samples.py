"""``gridgeo samples build|load``: the sample city."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from sqlalchemy import select

from gridgeo.cli.common import session_scope
from gridgeo.settings import Settings

app = typer.Typer(
    help="Generate and load the sample city (Xiaoshan, 萧山区).", no_args_is_help=True
)


def default_samples_dir() -> Path:
    """The committed sample city folder of this checkout."""
    from gridgeo.samples.reference import SAMPLES_DIR

    return SAMPLES_DIR


@app.command()
def build(
    seed: int = typer.Option(20261124, help="Random seed (same seed, same city)."),
    scale: float = typer.Option(1.0, min=0.01, help="Multiplies events and tracks."),
    out: Path = typer.Option(None, help="Output folder (default: data/samples)."),
) -> None:
    """Generate the sample city deterministically."""
    from gridgeo.samples.build import build_sample_city

    summary = build_sample_city(out or default_samples_dir(), seed=seed, scale=scale)
    typer.echo(json.dumps(summary.counts, ensure_ascii=False, indent=2, default=str))


@app.command()
def load(
    path: Path = typer.Option(None, "--from", help="Sample folder (default: data/samples)."),
    no_tracks: bool = typer.Option(False, help="Skip the GPS fixes."),
) -> None:
    """Load the sample city: a published generation, roster, events and tracks."""
    from gridgeo.workflows.samples import load_sample_city

    with session_scope() as session:
        summary = load_sample_city(session, path or default_samples_dir(), tracks=not no_tracks)
    typer.echo(json.dumps(summary.to_dict(), indent=2))


def ensure_sample_city_loaded(settings: Settings) -> None:
    """Load the sample city unless a generation is already published."""
    from gridgeo.store.models import Generation
    from gridgeo.workflows.samples import load_sample_city

    with session_scope(settings) as session:
        if session.scalar(select(Generation.id).where(Generation.status == "published")):
            return
        typer.echo("loading the sample city (first run only) …")
        summary = load_sample_city(session, default_samples_dir())
    typer.echo(json.dumps(summary.to_dict(), indent=2))
