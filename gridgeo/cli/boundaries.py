"""``gridgeo boundaries import|validate|publish|diff|export|list``: the planner workflow."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import typer

from gridgeo.boundaries.report import triage_text
from gridgeo.cli.common import session_scope
from gridgeo.store.generations import list_generations
from gridgeo.workflows import planner

app = typer.Typer(
    help="Import, validate, publish, compare and export boundary generations.", no_args_is_help=True
)


class _Steps:
    """Progress as step lines on stderr, each with the seconds elapsed."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def __call__(self, line: str) -> None:
        sys.stderr.write(f"[{time.monotonic() - self.start:6.1f} s] {line}\n")
        sys.stderr.flush()


def _mapping(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        target, _, source = pair.partition("=")
        if not source:
            raise typer.BadParameter(f"--map expects target=SOURCE_COLUMN, got {pair!r}")
        mapping[target.strip()] = source.strip()
    return mapping


@app.command("import")
def import_command(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="Boundary file."),
    crs: str = typer.Option(None, help="Declared CRS: gcj02, bd09, EPSG:4549 …"),
    layer: str = typer.Option(None, help="Layer of a GeoPackage / .shp inside a zip."),
    encoding: str = typer.Option(None, help="Shapefile attribute encoding (GBK, UTF-8)."),
    map_: list[str] = typer.Option([], "--map", help="target=SOURCE column (repeat)."),
    label: str = typer.Option(None, help="Label of the new draft generation."),
    note: str = typer.Option(None, help="A note stored with the draft."),
    recode: bool = typer.Option(False, help="Recompute every grid and micro-grid code."),
    replace_under: str = typer.Option(
        None,
        "--replace-under",
        help="The file holds only the units under this code (a redrawn street or community): "
        "the draft is the published generation with them replaced.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines on stderr."),
) -> None:
    """Import a boundary file as a new draft generation (one transaction)."""
    progress = None if quiet else _Steps()
    with session_scope() as session:
        summary = planner.import_boundaries(
            session,
            path,
            filename=path.name,
            crs=crs,
            layer=layer,
            encoding=encoding,
            mapping=_mapping(map_),
            label=label,
            note=note,
            recode=recode,
            replace_under=replace_under,
            progress=progress,
        )
    typer.echo(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2))


@app.command()
def validate(
    generation: str = typer.Argument(..., help="Generation id or label."),
    repair: bool = typer.Option(False, help="Repair invalid geometries in the draft."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    changed_only: bool = typer.Option(
        None,
        "--changed-only/--all",
        help="Show only findings that are not in the baseline generation's report "
        "(default for a draft made from an edit or a partial re-import).",
        show_default=False,
    ),
    severity: str = typer.Option(None, "--severity", help="Show only error or warning."),
    level: list[str] = typer.Option(
        [], "--level", help="Show only findings about this level (repeat)."
    ),
    scope: list[str] = typer.Option(
        [],
        "--scope",
        help="Code the generation is stated to cover (repeat); completeness "
        "against the active generation is checked only under it.",
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress lines on stderr."),
) -> None:
    """Validate a generation; exits 1 when the report has errors."""
    planner.check_report_filters(severity, level or None)
    steps = None if quiet else _Steps()
    with session_scope() as session:
        report = planner.validate_generation(
            session, generation, repair=repair, scope=scope or None, progress=steps
        )
        view = planner.report_view(
            session,
            generation,
            changed_only=changed_only,
            severity=severity,
            levels=level or None,
            progress=steps,
        )
    if as_json:
        typer.echo(json.dumps(view, ensure_ascii=False, indent=2, default=str))
    else:
        typer.echo(triage_text(view, view.get("baseline_label")))
        for change in report.changes:
            typer.echo(
                f"REPAIRED row {change['row']} ({change.get('code') or 'no code'}): "
                f"{change['reason']}; area {change['area_before_m2']:,.1f} → "
                f"{change['area_after_m2']:,.1f} m²"
            )
    if not report.ok:
        raise typer.Exit(1)


@app.command("report")
def report_command(
    generation: str = typer.Argument(..., help="Generation id or label."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    changed_only: bool = typer.Option(
        None,
        "--changed-only/--all",
        help="Only findings not in the baseline's report.",
        show_default=False,
    ),
    severity: str = typer.Option(None, "--severity", help="Show only error or warning."),
    level: list[str] = typer.Option([], "--level", help="Only this level (repeat)."),
) -> None:
    """Show the stored validation report of a generation (grouped and filtered)."""
    with session_scope() as session:
        view = planner.report_view(
            session,
            generation,
            changed_only=changed_only,
            severity=severity,
            levels=level or None,
            progress=_Steps(),
        )
    if as_json:
        typer.echo(json.dumps(view, ensure_ascii=False, indent=2, default=str))
    else:
        typer.echo(triage_text(view, view.get("baseline_label")))
    if not view["ok"]:
        raise typer.Exit(1)


@app.command("publish")
def publish_command(
    generation: str = typer.Argument(..., help="Generation id or label."),
    force: str = typer.Option(None, "--force", help="Publish despite errors; give the reason."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines on stderr."),
) -> None:
    """Publish a validated generation atomically (the previous one is superseded).

    The locate index is built before the transaction commits: a generation
    it cannot serve is refused (exit 1), even with --force.
    """
    progress = None if quiet else _Steps()
    with session_scope() as session:
        published = planner.publish_generation(
            session, generation, force_reason=force, progress=progress
        )
        typer.echo(
            f"published generation {published.id} ({published.label}) "
            f"valid from {published.valid_from}"
        )


@app.command("diff")
def diff_command(
    old: str = typer.Argument(..., help="Old generation id or label."),
    new: str = typer.Argument(..., help="New generation id or label."),
    as_json: bool = typer.Option(False, "--json", help="Print the full diff as JSON."),
    geometry: Path = typer.Option(
        None, "--geometry", dir_okay=False, help="Write the changed areas to this GeoJSON file."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines on stderr."),
) -> None:
    """Compare two generations level by level: a readable summary (or --json)."""
    progress = None if quiet else _Steps()
    with session_scope() as session:
        body = planner.diff(session, old, new, geometry=geometry is not None, progress=progress)
    if geometry is not None:
        geometry.parent.mkdir(parents=True, exist_ok=True)
        geometry.write_text(json.dumps(body.pop("geometry"), ensure_ascii=False), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(body, ensure_ascii=False, indent=2, default=str))
    else:
        typer.echo(f"diff of generation {body['old_generation']} -> {body['new_generation']}")
        typer.echo(body["text"])
        if geometry is not None:
            typer.echo(f"changed areas written to {geometry}")


@app.command()
def export(
    generation: str = typer.Argument(..., help="Generation id or label."),
    out: Path = typer.Option(..., "--out", help="Output file (.geojson, .gpkg, .zip, .parquet)."),
    fmt: str = typer.Option(None, "--format", help="geojson, gpkg, shapefile or parquet."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines on stderr."),
) -> None:
    """Export a generation's units."""
    progress = None if quiet else _Steps()
    with session_scope() as session:
        path = planner.export_generation(session, generation, out, fmt, progress=progress)
    typer.echo(f"wrote {path}")


@app.command("list")
def list_command() -> None:
    """List generations."""
    with session_scope() as session:
        for g in list_generations(session):
            typer.echo(f"{g.id}\t{g.label}\t{g.status}\t{g.valid_from or ''}\t{g.valid_to or ''}")
