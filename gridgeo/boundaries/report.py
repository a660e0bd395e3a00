"""The validation report: issues with stable rule ids, as JSON and as text.

Rule ids (stable; clients and scripts rely on them):

============================  ========  ============================================
rule                          severity  meaning
============================  ========  ============================================
``invalid_geometry``          error     invalid polygon (warning once repaired, or
                                        when repairing changes its area by less
                                        than 0.1 m²)
``overlap``                   error     siblings overlap
``gap``                       error     part of the parent covered by no child
                                        (warning when the parent is not in the data)
``sliver``                    error     thin or tiny gap, overlap or polygon part
``outside_parent``            error     child beyond its parent by more than the
                                        tolerance
``special_crosses_community`` error     special grid reaches beyond its community
``unmatched_edges``           warning   sibling edges not shared vertex for vertex
``duplicate_code``            error     the same code on several features
``missing_code``              error     feature without code
``code_rule``                 error     code breaks a coding rule (length, digits,
                                        prefix, sequence range, level)
``unknown_parent``            warning   the parent code is not in the data although
                                        its level is
``unknown_official_code``     warning   street/community code not in the official
                                        list
``missing_name``              warning   feature without name
``duplicate_name``            warning   siblings sharing a name
``households_out_of_range``   warning   households per full-time worker (per grid
                                        when it has none) outside the target
``low_compactness``           warning   Polsby–Popper or Reock below target
``geometry_engine``           error     the geometry engine failed on these units;
                                        the named check could not be completed
``missing_parent``            error     (generation) the parent code is not in the
                                        generation
``incomplete``                error     (generation) the generation covers less than
                                        the active one (missing districts, streets,
                                        or area beyond the tolerance)
============================  ========  ============================================
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd

__all__ = [
    "RULES",
    "SEVERITIES",
    "Issue",
    "Severity",
    "ValidationReport",
    "issue_key",
    "issue_levels",
    "triage",
    "triage_text",
]

Severity = Literal["error", "warning"]

RULES: tuple[str, ...] = (
    "invalid_geometry",
    "overlap",
    "gap",
    "sliver",
    "outside_parent",
    "special_crosses_community",
    "unmatched_edges",
    "duplicate_code",
    "missing_code",
    "code_rule",
    "unknown_parent",
    "unknown_official_code",
    "missing_name",
    "duplicate_name",
    "households_out_of_range",
    "low_compactness",
    "geometry_engine",
    "missing_parent",
    "incomplete",
)
"""Every rule id the validator can emit."""


@dataclass(frozen=True)
class Issue:
    """One problem found by :func:`~gridgeo.boundaries.validate_units`.

    Attributes
    ----------
    severity : {"error", "warning"}
        Errors block publishing; warnings inform.
    rule : str
        Stable machine id (see :data:`RULES`).
    codes : list of str
        Codes of the features involved (may be empty for features without code).
    message : str
        One readable sentence naming the problem.
    location : (float, float) or None
        A (lon, lat) point inside the problem (EPSG:4490).
    area_m2 : float or None
        Area of the problem in m², where it has one.
    geometry_wkt : str or None
        The problem's geometry in EPSG:4490 lon/lat (for gaps, overlaps,
        slivers, parts outside a parent).
    rows : list of int
        Row positions of the features involved in the validated table.
    details : dict
        Rule-specific numbers (JSON-ready).
    """

    severity: Severity
    rule: str
    codes: list[str]
    message: str
    location: tuple[float, float] | None = None
    area_m2: float | None = None
    geometry_wkt: str | None = None
    rows: list[int] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the issue."""
        return {
            "severity": self.severity,
            "rule": self.rule,
            "codes": list(self.codes),
            "message": self.message,
            "location": list(self.location) if self.location is not None else None,
            "area_m2": self.area_m2,
            "geometry_wkt": self.geometry_wkt,
            "rows": list(self.rows),
            "details": dict(self.details),
        }

    def to_text(self) -> str:
        """One readable line: severity, rule, message, location and area."""
        parts = [f"{self.severity.upper():7} {self.rule}: {self.message}"]
        if self.location is not None:
            parts.append(f"at {self.location[0]:.6f}, {self.location[1]:.6f}")
        if self.area_m2 is not None:
            parts.append(f"area {self.area_m2:,.1f} m²")
        return " — ".join(parts)


@dataclass
class ValidationReport:
    """Result of :func:`~gridgeo.boundaries.validate_units`.

    Attributes
    ----------
    issues : list of Issue
        Sorted: errors first, then by rule and codes.
    repaired : geopandas.GeoDataFrame or None
        With ``repair=True``: the units with repaired geometries (EPSG:4490).
    changes : list of dict
        With ``repair=True``: one entry per repaired feature (row, code,
        reason, area before/after in m², parts before/after).
    checked : int
        Number of features validated.

    Examples
    --------
    >>> report = ValidationReport([Issue("warning", "missing_name", ["330109001001001"],
    ...                                  "330109001001001 has no name", (120.1, 30.2))])
    >>> report.ok
    True
    >>> print(report.to_text())
    0 errors, 1 warning in 0 features
    WARNING missing_name: 330109001001001 has no name — at 120.100000, 30.200000
    """

    issues: list[Issue] = field(default_factory=list)
    repaired: gpd.GeoDataFrame | None = None
    changes: list[dict[str, Any]] = field(default_factory=list)
    checked: int = 0

    @property
    def errors(self) -> list[Issue]:
        """Issues of severity ``error``."""
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        """Issues of severity ``warning``."""
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors

    def by_rule(self, rule: str) -> list[Issue]:
        """Issues of one rule."""
        return [i for i in self.issues if i.rule == rule]

    def counts(self) -> dict[str, int]:
        """Number of issues per rule (only rules that occur)."""
        out: dict[str, int] = {}
        for issue in self.issues:
            out[issue.rule] = out.get(issue.rule, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: ok, counts, issues and repair changes."""
        return {
            "ok": self.ok,
            "checked": self.checked,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "counts": self.counts(),
            "issues": [i.to_dict() for i in self.issues],
            "repaired": self.repaired is not None,
            "changes": [dict(c) for c in self.changes],
        }

    def to_json(self, **kwargs: Any) -> str:
        """:meth:`to_dict` as a JSON string (UTF-8 text, names unescaped)."""
        kwargs.setdefault("ensure_ascii", False)
        return json.dumps(self.to_dict(), **kwargs)

    def to_text(self) -> str:
        """Readable report: a summary line, then one line per issue and change."""
        n_err, n_warn = len(self.errors), len(self.warnings)
        lines = [
            f"{_plural(n_err, 'error')}, {_plural(n_warn, 'warning')} in "
            f"{_plural(self.checked, 'feature')}"
        ]
        lines.extend(i.to_text() for i in self.issues)
        for change in self.changes:
            lines.append(
                f"REPAIRED row {change['row']} ({change.get('code') or 'no code'}): "
                f"{change['reason']}; area {change['area_before_m2']:,.1f} → "
                f"{change['area_after_m2']:,.1f} m², parts {change['parts_before']} → "
                f"{change['parts_after']}"
            )
        return "\n".join(lines)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# --------------------------------------------------------------------------- triage

SEVERITIES: tuple[str, ...] = ("error", "warning")
"""Severities, most severe first."""

_LEVEL_BY_LENGTH = {6: "district", 9: "street", 12: "community", 15: "grid", 18: "microgrid"}


def issue_key(issue: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    """The identity of a finding across generations: its rule and the codes involved.

    Examples
    --------
    >>> issue_key({"rule": "gap", "codes": ["330109001001001", "330109001001"]})
    ('gap', ('330109001001001', '330109001001'))
    """
    return str(issue.get("rule")), tuple(str(c) for c in issue.get("codes") or ())


def issue_levels(issue: dict[str, Any]) -> set[str]:
    """Levels of the units a finding names (from their code lengths).

    Examples
    --------
    >>> sorted(issue_levels({"codes": ["330109001001001", "330109001001"]}))
    ['community', 'grid']
    """
    return {
        level
        for c in issue.get("codes") or ()
        if (level := _LEVEL_BY_LENGTH.get(len(str(c)))) is not None
    }


def triage(
    report: dict[str, Any],
    *,
    baseline: dict[str, Any] | None = None,
    changed_only: bool = False,
    severity: str | None = None,
    levels: list[str] | None = None,
) -> dict[str, Any]:
    """Group, compare and filter a stored report (the dict of :meth:`ValidationReport.to_dict`).

    A finding is *new* when its key (:func:`issue_key`: rule and codes) is not
    in the ``baseline`` report (the report of the generation the draft came
    from, or of the active generation). New findings come first.

    Parameters
    ----------
    report : dict
        The report to show.
    baseline : dict, optional
        The report to compare with; without it every finding counts as new.
    changed_only : bool
        Show only new findings.
    severity : {"error", "warning"}, optional
        Show only findings of this severity.
    levels : list of str, optional
        Show only findings naming a unit of one of these levels.

    Returns
    -------
    dict
        The report's totals (``ok``, ``checked``, ``errors``, ``warnings``),
        ``by_kind`` (one entry per rule and severity with ``count``, ``new``
        and ``shown``), ``changed_only``, ``compared``, ``new``, ``shown``,
        ``hidden`` and the ``issues`` shown (each with ``new``).

    Examples
    --------
    >>> old = {"issues": [{"severity": "warning", "rule": "low_compactness",
    ...                    "codes": ["330109001001001"]}]}
    >>> new = {"issues": old["issues"] + [{"severity": "warning", "rule": "missing_name",
    ...                                    "codes": ["330109001001002"]}]}
    >>> view = triage(new, baseline=old, changed_only=True)
    >>> [i["rule"] for i in view["issues"]], view["hidden"]
    (['missing_name'], 1)
    """
    if severity is not None and severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, not {severity!r}")
    known = {issue_key(i) for i in (baseline or {}).get("issues", [])}
    issues = [dict(i) for i in report.get("issues", [])]
    for issue in issues:
        issue["new"] = baseline is None or issue_key(issue) not in known
    wanted = set(levels or ())

    def keep(issue: dict[str, Any]) -> bool:
        if changed_only and not issue["new"]:
            return False
        if severity is not None and issue.get("severity") != severity:
            return False
        return not wanted or bool(issue_levels(issue) & wanted)

    shown = [i for i in issues if keep(i)]
    shown.sort(key=lambda i: (not i["new"], i.get("severity") != "error"))
    kinds: dict[tuple[str, str], dict[str, Any]] = {}
    for issue in issues:
        entry = kinds.setdefault(
            (str(issue.get("severity")), str(issue.get("rule"))),
            {
                "rule": issue.get("rule"),
                "severity": issue.get("severity"),
                "count": 0,
                "new": 0,
                "shown": 0,
            },
        )
        entry["count"] += 1
        entry["new"] += int(issue["new"])
    for issue in shown:
        kinds[(str(issue.get("severity")), str(issue.get("rule")))]["shown"] += 1
    by_kind = sorted(
        kinds.values(), key=lambda k: (k["severity"] != "error", -k["new"], -k["count"], k["rule"])
    )
    errors = sum(1 for i in issues if i.get("severity") == "error")
    return {
        "ok": errors == 0,
        "checked": report.get("checked"),
        "errors": errors,
        "warnings": sum(1 for i in issues if i.get("severity") == "warning"),
        "changed_only": changed_only,
        "compared": baseline is not None,
        "filters": {"severity": severity, "levels": sorted(wanted) or None},
        "by_kind": by_kind,
        "new": sum(1 for i in issues if i["new"]),
        "shown": len(shown),
        "hidden": len(issues) - len(shown),
        "issues": shown,
        "changes": list(report.get("changes", [])),
    }


def triage_text(view: dict[str, Any], baseline_label: str | None = None) -> str:
    """Readable form of :func:`triage`: totals, counts per kind, then the findings shown."""
    lines = [
        f"{_plural(view['errors'], 'error')}, {_plural(view['warnings'], 'warning')} in "
        f"{_plural(int(view.get('checked') or 0), 'feature')}"
    ]
    if view["compared"]:
        against = f" (compared with {baseline_label})" if baseline_label else ""
        lines[0] += f"; {view['new']} new{against}"
    for kind in view["by_kind"]:
        new = f", {kind['new']} new" if view["compared"] else ""
        lines.append(f"  {kind['severity']:7} {kind['rule']}: {kind['count']}{new}")
    if view["hidden"]:
        why = "unchanged or filtered" if view["changed_only"] else "filtered"
        lines.append(f"showing {view['shown']}; {view['hidden']} hidden ({why}; --all shows all)")
    for issue in view["issues"]:
        mark = "NEW " if view["compared"] and issue["new"] else ""
        text = f"{mark}{str(issue.get('severity', '')).upper():7} {issue.get('rule')}: "
        text += str(issue.get("message"))
        loc = issue.get("location")
        if loc:
            text += f" — at {loc[0]:.6f}, {loc[1]:.6f}"
        if issue.get("area_m2") is not None:
            text += f" — area {issue['area_m2']:,.1f} m²"
        lines.append(text)
    return "\n".join(lines)
