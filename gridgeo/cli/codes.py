"""``gridgeo codes assign|check``: grid codes of a boundary file."""

from __future__ import annotations

from pathlib import Path

import typer

from gridgeo.boundaries import read_boundaries
from gridgeo.coding import assign_codes, validate_codes

app = typer.Typer(help="Assign and check grid codes in boundary files.", no_args_is_help=True)


@app.command()
def assign(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="Boundary file."),
    out: Path = typer.Option(..., "--out", help="Output file (.geojson, .gpkg, .parquet)."),
    crs: str = typer.Option(None, help="Declared CRS of the input."),
    all_codes: bool = typer.Option(False, "--all", help="Recompute codes that are present."),
) -> None:
    """Give grids and micro-grids codes in reading order (north→south, west→east)."""
    units = read_boundaries(path, filename=path.name, crs=crs)
    coded = units["level"].isin(["grid", "microgrid"])
    todo = coded & (units["code"].isna() | all_codes)
    grids = todo & (units["level"] == "grid")
    if grids.any():
        new = assign_codes(units.loc[grids])
        renamed = dict(zip(units.loc[grids, "code"], new, strict=True))
        units.loc[grids, "code"] = new
        micro = units["level"] == "microgrid"
        units.loc[micro, "parent_code"] = units.loc[micro, "parent_code"].replace(renamed)
    micro_todo = todo & (units["level"] == "microgrid")
    if micro_todo.any():
        units.loc[micro_todo, "code"] = assign_codes(units.loc[micro_todo])
    if out.suffix == ".parquet":
        units.to_parquet(out)
    else:
        units.to_file(out, engine="pyogrio")
    typer.echo(f"assigned {int(todo.sum())} codes; wrote {out}")


@app.command()
def check(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="Boundary file."),
    crs: str = typer.Option(None, help="Declared CRS of the input."),
) -> None:
    """Check codes against the rules and the official lists; exits 1 on errors."""
    units = read_boundaries(path, filename=path.name, crs=crs)
    problems = validate_codes(units)
    errors = 0
    for problem in problems:
        typer.echo(f"{problem.severity}: {problem.code}: [{problem.rule}] {problem.message}")
        errors += problem.severity == "error"
    warnings = len(problems) - errors
    typer.echo(f"{len(units)} codes checked: {errors} error(s), {warnings} warning(s)")
    if errors:
        raise typer.Exit(1)
