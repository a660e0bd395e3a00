"""The ``gridgeo`` command line (typer). ``gridgeo --help`` lists every command."""

from __future__ import annotations

import sys

import typer
from sqlalchemy.exc import DBAPIError, OperationalError

from gridgeo.cli import boundaries as boundary_commands
from gridgeo.cli import codes as code_commands
from gridgeo.cli import db as db_commands
from gridgeo.cli import events as event_commands
from gridgeo.cli import locate as locate_command
from gridgeo.cli import maps as map_commands
from gridgeo.cli import samples as sample_commands
from gridgeo.cli import serve as serve_commands
from gridgeo.cli import tracks as track_commands
from gridgeo.cli import users as user_commands
from gridgeo.errors import GridgeoError
from gridgeo.store.db import translate_error

app = typer.Typer(
    help="gridgeo: grid boundaries, ownership lookup and analytics (网格化服务管理).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db_commands.app, name="db")
app.add_typer(user_commands.app, name="users")
app.add_typer(boundary_commands.app, name="boundaries")
app.add_typer(code_commands.app, name="codes")
app.add_typer(sample_commands.app, name="samples")
app.add_typer(event_commands.app, name="events")
app.add_typer(track_commands.app, name="tracks")
app.add_typer(map_commands.app, name="map")
serve_commands.register(app)
app.command("locate")(locate_command.locate)


def main() -> None:
    """Entry point: run the CLI; gridgeo errors print their message and exit 1.

    Database constraint and data errors are reported like input errors
    (naming the constraint, never the SQL); no traceback is printed.
    """
    try:
        app()
    except GridgeoError as exc:
        _fail(exc.message)
    except OperationalError:
        _fail(
            "cannot connect to the database; start it with `gridgeo db up` "
            "or check GRIDGEO_DATABASE_URL"
        )
    except DBAPIError as exc:
        mapped = translate_error(exc)
        _fail(mapped.message if mapped is not None else "the database refused the operation")
    except (LookupError, UnicodeError, OverflowError) as exc:
        _fail(f"invalid input ({type(exc).__name__}: {str(exc)[:200]})")


def _fail(message: str) -> None:
    typer.secho(f"error: {message[:2000]}", err=True, fg=typer.colors.RED)
    sys.exit(1)
