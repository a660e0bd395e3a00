"""``gridgeo users add|list``: API users and tokens."""

from __future__ import annotations

import typer

from gridgeo.cli.common import session_scope
from gridgeo.store.users import add_user, list_users

app = typer.Typer(help="API users and their bearer tokens.", no_args_is_help=True)


@app.command()
def add(
    name: str = typer.Argument(..., help="Unique user name."),
    role: str = typer.Option(..., "--role", help="planner, analyst, worker or admin."),
    grid: list[str] = typer.Option([], "--grid", help="Grid a worker is bound to (repeat)."),
) -> None:
    """Create a user and print its token once (only a hash is stored)."""
    with session_scope() as session:
        user, token = add_user(session, name, role, grid)
    typer.echo(f"user {user.name} ({user.role}) created; token (shown once):")
    typer.echo(token)


@app.command("list")
def list_command() -> None:
    """List users and roles."""
    with session_scope() as session:
        for user in list_users(session):
            grids = ",".join(user.grid_codes or [])
            typer.echo(f"{user.name}\t{user.role}\t{grids}")
