"""``gridgeo map grids|hotspots|emerging|coverage --out FILE.html``: self-contained map files."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from gridgeo.cli.common import engine_for
from gridgeo.heatmaps import render_html
from gridgeo.workflows import maps as map_pages
from gridgeo.workflows.analytics import AnalyticsData

app = typer.Typer(
    help="Write maps to self-contained HTML files (work offline).", no_args_is_help=True
)

OUT = typer.Option(..., "--out", help="HTML file to write.")
BASEMAP = typer.Option("none", help="none, osm, amap (GCJ-02) or tianditu.")
KEY = typer.Option(None, help="Tianditu key (tk), for --basemap tianditu.")


def _write(builder: Any, out: Path, **options: Any) -> None:
    with engine_for() as engine:
        m = builder(AnalyticsData(engine), **options)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(m, inline_assets=True), encoding="utf-8")
    typer.echo(f"wrote {out}")


@app.command()
def grids(
    out: Path = OUT,
    levels: str = typer.Option("street,community,grid,microgrid", help="Comma-separated."),
    basemap: str = BASEMAP,
    tianditu_key: str = KEY,
) -> None:
    """Grid boundaries by level with code/name tooltips and a search by code."""
    _write(
        map_pages.grids_map,
        out,
        levels=levels.split(","),
        basemap=basemap,
        tianditu_key=tianditu_key,
    )


@app.command()
def hotspots(
    out: Path = OUT,
    level: str = typer.Option("grid", help="grid, community, street or h3:<res>."),
    category: str = typer.Option(None, help="Category code or name."),
    start: datetime = typer.Option(None),
    end: datetime = typer.Option(None),
    basemap: str = BASEMAP,
    tianditu_key: str = KEY,
) -> None:
    """Getis-Ord Gi* hot and cold spots."""
    _write(
        map_pages.hotspots_map,
        out,
        level=level,
        category=category,
        start=start,
        end=end,
        basemap=basemap,
        tianditu_key=tianditu_key,
    )


@app.command()
def emerging(
    out: Path = OUT,
    level: str = typer.Option("grid", help="grid, community, street or h3:<res>."),
    category: str = typer.Option(None),
    start: datetime = typer.Option(None),
    end: datetime = typer.Option(None),
    basemap: str = BASEMAP,
    tianditu_key: str = KEY,
) -> None:
    """Emerging hot spot categories over monthly slices."""
    _write(
        map_pages.emerging_map,
        out,
        level=level,
        category=category,
        start=start,
        end=end,
        basemap=basemap,
        tianditu_key=tianditu_key,
    )


@app.command()
def coverage(
    out: Path = OUT,
    days: int = typer.Option(7, help="Not visited within this many days."),
    target: float = typer.Option(0.6, help="Coverage share target."),
    basemap: str = BASEMAP,
    tianditu_key: str = KEY,
) -> None:
    """Patrol coverage gaps."""
    _write(
        map_pages.coverage_map,
        out,
        days=days,
        target=target,
        basemap=basemap,
        tianditu_key=tianditu_key,
    )
