"""``gridgeo serve`` and ``gridgeo demo``."""

from __future__ import annotations

import typer

from gridgeo.settings import Settings


def _prepare_database(settings: Settings) -> None:
    from gridgeo.cli.common import engine_for
    from gridgeo.store import localdb
    from gridgeo.store.db import upgrade

    if not settings.database_url:
        localdb.up(settings.home)
    with engine_for(settings) as engine:
        upgrade(engine)


def register(app: typer.Typer) -> None:
    """Add the ``serve`` and ``demo`` commands to the CLI."""

    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
        port: int = typer.Option(8000, help="TCP port."),
        workers: int = typer.Option(1, min=1, help="Worker processes."),
    ) -> None:
        """Run the HTTP API with uvicorn (starts the local database if needed)."""
        import uvicorn

        _prepare_database(Settings())
        uvicorn.run(
            "api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
        )

    @app.command()
    def demo(
        host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
        port: int = typer.Option(8000, help="TCP port."),
    ) -> None:
        """Start the database, load the sample city once, and serve the API and maps."""
        import uvicorn

        settings = Settings()
        _prepare_database(settings)
        try:
            from gridgeo.cli.samples import ensure_sample_city_loaded
        except ImportError:  # the sample city is optional for the API itself
            pass
        else:
            ensure_sample_city_loaded(settings)
        base = f"http://{host}:{port}"
        typer.echo(f"gridgeo demo on {base}")
        for path in ("/healthz", "/docs", "/v1/grids?level=street", "/collections", "/maps/"):
            typer.echo(f"  {base}{path}")
        uvicorn.run("api.app:create_app", factory=True, host=host, port=port, log_level="info")
