"""The validation report: issues with stable rule ids, as JSON and as text.

Rule ids (stable; clients and scripts rely on them):

============================  ========  ============================================
rule                          severity  meaning
============================  ========  ============================================
``invalid_geometry``          error     invalid polygon (warning once repaired)
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

__all__ = ["Issue", "RULES", "Severity", "ValidationReport"]

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
