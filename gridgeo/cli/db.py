"""``gridgeo db up|down|status|url|upgrade``: the database."""

from __future__ import annotations

import json

import typer

from gridgeo.cli.common import engine_for
from gridgeo.settings import Settings
from gridgeo.store import localdb
from gridgeo.store.db import database_url, server_versions, upgrade

app = typer.Typer(
    help="Manage the project-local PostGIS cluster and the schema.", no_args_is_help=True
)


@app.command()
def up() -> None:
    """Create (once) and start the local PostGIS cluster; harmless when it runs."""
    settings = Settings()
    if settings.database_url:
        typer.echo("GRIDGEO_DATABASE_URL is set: using that server, no local cluster started")
        return
    cluster = localdb.up(settings.home)
    typer.echo(f"local PostGIS running: {cluster.data_dir}")
    typer.echo(cluster.url)


@app.command()
def down() -> None:
    """Stop the local cluster."""
    stopped = localdb.down(Settings().home)
    typer.echo("stopped" if stopped else "not running")


@app.command()
def status() -> None:
    """Show the local cluster's state and, if reachable, the server versions."""
    settings = Settings()
    info: dict[str, object] = {"url": database_url(settings)}
    if not settings.database_url:
        info.update(localdb.status(settings.home))
    try:
        with engine_for(settings) as engine, engine.connect() as conn:
            info.update(server_versions(conn))
            info["reachable"] = True
    except Exception:  # noqa: BLE001 - status reports, never fails
        info["reachable"] = False
    typer.echo(json.dumps(info, indent=2, default=str))


@app.command()
def url() -> None:
    """Print the SQLAlchemy URL gridgeo connects to."""
    typer.echo(database_url(Settings()))


@app.command("upgrade")
def upgrade_command(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply the schema migrations (Alembic)."""
    with engine_for() as engine:
        current = upgrade(engine, revision)
    typer.echo(f"schema at revision {current}")
