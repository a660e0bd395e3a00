"""Authenticity flags on patrol tracks: signs that a track was not walked as reported.

A flag is a reason for a supervisor to look, not a verdict: every flag carries
the measured ``evidence`` and the period it concerns. The thresholds
(:class:`Thresholds`) are ones an analyst would set from the physics of GPS
and of patrolling on foot or by e-bike, not from any particular data set.

Kinds
-----
``teleport``
    Movement no patrol can make. A leg between consecutive fixes of a worker
    is *impossible* when, after allowing each fix its error (``error_radii``
    times its ``accuracy_m``, i.e. 2 × the 68 % radius, about 3 σ), the
    implied speed exceeds ``teleport_speed_mps`` (50 m/s = 180 km/h) or the
    jump exceeds ``teleport_jump_m`` (2 km) within ``teleport_jump_s`` (60 s).
    An impossible leg followed, within ``teleport_return_s`` (10 min), by an
    impossible leg back to near the starting point (closer than half the
    jump) is one *excursion* flag (``returned: true``), from the jump fix to
    the return fix; an impossible leg without return is flagged on its own.
    This check also sees the fixes that cleaning dropped as speed spikes or
    for poor accuracy (pass ``dropped``), because a lone far-away fix is
    exactly what a teleport looks like (see :mod:`gridgeo.tracks.clean`).
``too_regular``
    Fix intervals of a patrol with a coefficient of variation below
    ``regular_max_cv`` (0.01) over at least ``regular_min_fixes`` (50)
    fixes. Phones schedule location updates loosely (the OS batches and
    delays them), so real intervals vary by several per cent; a perfectly
    even clock suggests a generated track. Weak alone: dedicated loggers can
    be this regular.
``no_noise``
    GPS positions scatter by metres. For each interior fix the residual from
    the straight, constant-speed interpolation between its neighbours
    (``p[i] - (p[i-1] + (p[i+1] - p[i-1]) (t[i] - t[i-1]) / (t[i+1] - t[i-1]))``)
    is about 1.4 σ for real fixes (5 m for σ = 3.5 m), whatever the path
    shape adds on top; a patrol whose median residual is below
    ``noise_min_m`` (0.5 m) over at least ``noise_min_fixes`` (20) interior
    fixes is too smooth to be measured: drawn or interpolated. Devices that
    smooth fixes heavily (fused location) may need a lower threshold. A
    noise-free track that turns at every fix escapes this check (the turns
    make the residuals); it targets tracks interpolated along straight legs,
    the usual output of route-drawing tools.
``replay``
    A patrol that repeats an earlier patrol (of any worker) after a time
    shift, with fresh noise up to 10 m, dropped or resampled fixes:
    candidates from a MinHash index of H3 cell shingles, confirmed by the
    median distance at equal elapsed time after the best shift (at most
    ``replay_max_median_m``, 15 m). Rule and evidence:
    :mod:`gridgeo.tracks.detectors.replay`.
``copy``
    Coincident tracks of two workers that are a transformed copy (same fix
    time pattern or same noise after removing an offset of up to
    ``copy_max_offset_m``); the copier is named when the evidence says which
    (later upload, added noise, later clock), never the original; joint
    patrols (independent noise) are not flagged.
    :mod:`gridgeo.tracks.detectors.replay`.
``spoofing``
    Simulated movement: mock-location flag, a constant speed field, or noise
    without GPS time correlation within constant-velocity legs.
    :mod:`gridgeo.tracks.detectors.spoofing`.
``vehicle``
    Sustained speed above the grid's travel mode (walking or e-bike, per
    grid via ``modes``). :mod:`gridgeo.tracks.detectors.vehicle`.
``stationary``
    At least ``stationary_min_minutes`` (30) of a patrol within
    ``stationary_radius_m`` (30 m) of its first fix (stay-point rule of Li
    et al. 2008; a single fix farther away does not end the stay, two in a
    row do), **and** the fixes scatter no more than GPS noise does: their
    median distance from the stay's median point is at most
    ``stationary_noise_factor`` (1.25) times the median stated accuracy, and
    at least ``stationary_noise_floor_m`` (8 m) is allowed (for 2-D Gaussian
    noise whose 68 % radius is ``a`` the median distance is about
    ``0.78 a``; the margin covers optimistic accuracy claims, the median
    ignores stray fixes). A device lying still scatters like that; a worker
    walking to and fro in a tiny grid or courtyard spreads over the whole
    circle (median distance 10–20 m in a 30 m circle) and is not reported.
    Normal stops (a conversation, a check of a shop) last minutes. A second
    rule (``drift``) does not trust the stated accuracy: at least
    ``stationary_drift_min_minutes`` (60) within ``stationary_drift_radius_m``
    (60 m) with a median distance from the centre of at most
    ``stationary_drift_max_m`` (30 m) — a phone left on a table drifting with
    correlated GPS error (evidence: spread, position correlation, claimed
    accuracy).
``outside``
    More than ``outside_max_share`` (50 %) of a patrol's time outside the
    worker's assignment area (:func:`gridgeo.tracks.join.assignment_areas`: a
    micro-grid worker's area is the parent grid). Time per fix is the
    interval to the next fix (capped at ``gap_minutes``); for a patrol
    without duration the share of fixes is used.

Output
------
:data:`FLAG_COLUMNS`: ``worker_id``, ``patrol_key``, ``kind``, ``reason``
(a sentence), ``evidence`` (dict of plain numbers/strings, JSON-ready),
``start``, ``end`` (UTC), sorted by worker, start and kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Final

import numpy as np
import pandas as pd

from gridgeo.errors import InvalidInput
from gridgeo.locate import LocateIndex
from gridgeo.tracks._geo import (
    distance_m,
    epoch_seconds,
    first_of_group,
    group_ids,
    local_xy,
    require_columns,
    wgs84_lonlat,
)
from gridgeo.tracks.detectors._patrols import PatrolArrays
from gridgeo.tracks.detectors.replay import detect_replays_and_copies
from gridgeo.tracks.detectors.spoofing import spoofing_records
from gridgeo.tracks.detectors.vehicle import vehicle_records
from gridgeo.tracks.join import (
    JOIN_COLUMNS,
    assignment_areas,
    inside_assigned,
    interval_weights,
    join_to_grids,
)

__all__ = [
    "FLAG_COLUMNS",
    "FLAG_KINDS",
    "Thresholds",
    "authenticity_flags",
    "detect_copies",
    "detect_no_noise",
    "detect_spoofing",
    "detect_vehicle",
    "detect_outside",
    "detect_replays",
    "detect_stationary",
    "detect_teleports",
    "detect_too_regular",
]

FLAG_KINDS: Final[tuple[str, ...]] = (
    "teleport",
    "too_regular",
    "no_noise",
    "replay",
    "copy",
    "spoofing",
    "vehicle",
    "stationary",
    "outside",
)
FLAG_COLUMNS: Final[tuple[str, ...]] = (
    "worker_id",
    "patrol_key",
    "kind",
    "reason",
    "evidence",
    "start",
    "end",
)


@dataclass(frozen=True)
class Thresholds:
    """Thresholds of the authenticity checks (module docstring explains each)."""

    teleport_speed_mps: float = 50.0
    teleport_jump_m: float = 2000.0
    teleport_jump_s: float = 60.0
    teleport_return_s: float = 600.0
    error_radii: float = 2.0
    default_accuracy_m: float = 10.0
    regular_max_cv: float = 0.01
    regular_min_fixes: int = 50
    noise_min_m: float = 0.5
    noise_min_fixes: int = 20
    replay_h3_res: int = 10
    replay_max_median_m: float = 15.0
    replay_min_coverage: float = 0.8
    replay_search_s: float = 900.0
    copy_max_offset_m: float = 50.0
    copy_min_time_match: float = 0.8
    copy_max_residual_m: float = 2.0
    walk_max_mps: float = 2.5
    ebike_max_mps: float = 8.0
    vehicle_lag_s: float = 120.0
    vehicle_min_minutes: float = 5.0
    vehicle_min_share: float = 0.2
    spoof_max_correlation: float = 0.0
    spoof_max_interval_s: float = 20.0
    spoof_min_fixes: int = 30
    stationary_radius_m: float = 30.0
    stationary_min_minutes: float = 30.0
    stationary_noise_factor: float = 1.25
    stationary_noise_floor_m: float = 8.0
    stationary_drift_radius_m: float = 60.0
    stationary_drift_min_minutes: float = 60.0
    stationary_drift_max_m: float = 30.0
    outside_max_share: float = 0.5
    gap_minutes: float = 15.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not (np.isfinite(value) and value >= 0):
                raise InvalidInput(f"threshold {f.name} must be a non-negative number")


def authenticity_flags(
    fixes: pd.DataFrame,
    roster: pd.DataFrame | None,
    index: LocateIndex | None,
    *,
    base_index: LocateIndex | None = None,
    dropped: pd.DataFrame | None = None,
    thresholds: Thresholds | None = None,
    kinds: tuple[str, ...] = FLAG_KINDS,
    modes: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Run the authenticity checks of ``kinds`` on cleaned, split fixes.

    Parameters
    ----------
    fixes : pandas.DataFrame
        Cleaned fixes with ``patrol_key`` (:func:`~gridgeo.tracks.patrols.split_patrols`),
        optionally already joined (:func:`~gridgeo.tracks.join.join_to_grids`;
        otherwise they are joined here with ``index``). Not modified.
    roster : pandas.DataFrame or None
        ``worker_id, grid_code``; needed for ``outside``.
    index : LocateIndex or None
        Needed for ``outside`` (assignment areas, and joining when needed).
    base_index : LocateIndex, optional
        Base-units index for the join (see :func:`~gridgeo.tracks.join.join_to_grids`).
    dropped : pandas.DataFrame, optional
        :attr:`CleanResult.dropped <gridgeo.tracks.clean.CleanResult>`; its
        speed spikes and poor-accuracy fixes are shown to the teleport check.
    thresholds : Thresholds, optional
    kinds : tuple of str
        Checks to run (default all of :data:`FLAG_KINDS`).
    modes : mapping, optional
        Travel mode allowed (``walk`` or ``ebike``) by grid code or worker id,
        for the ``vehicle`` check; unlisted grids allow ``ebike``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`FLAG_COLUMNS`.

    Raises
    ------
    InvalidInput
        Missing columns, unknown kinds, or ``outside`` without roster/index.
    """
    th = thresholds or Thresholds()
    unknown = [k for k in kinds if k not in FLAG_KINDS]
    if unknown:
        raise InvalidInput(f"unknown flag kinds {unknown}; use {list(FLAG_KINDS)}")
    require_columns(fixes, ["worker_id", "t", "lon", "lat", "patrol_key"], "fixes")
    f = _sorted(fixes)
    parts: list[pd.DataFrame] = []
    if "teleport" in kinds:
        parts.append(detect_teleports(f, dropped=dropped, thresholds=th))
    if "too_regular" in kinds:
        parts.append(detect_too_regular(f, thresholds=th))
    if "no_noise" in kinds:
        parts.append(detect_no_noise(f, thresholds=th))
    if "replay" in kinds or "copy" in kinds:
        rep, cop = _replays_and_copies(f, th)
        parts += [rep] if "replay" in kinds else []
        parts += [cop] if "copy" in kinds else []
    if "spoofing" in kinds:
        parts.append(detect_spoofing(f, thresholds=th))
    if "vehicle" in kinds:
        parts.append(detect_vehicle(f, modes=modes, roster=roster, thresholds=th))
    if "stationary" in kinds:
        parts.append(detect_stationary(f, thresholds=th))
    if "outside" in kinds:
        if roster is None or index is None:
            raise InvalidInput("the outside check needs the roster and the locate index")
        parts.append(detect_outside(f, roster, index, base_index=base_index, thresholds=th))
    out = pd.concat([p for p in parts if len(p)] or [_empty()], ignore_index=True)
    rank = out["kind"].map({k: i for i, k in enumerate(FLAG_KINDS)})
    order = np.lexsort((rank.to_numpy(), out["start"].to_numpy(), out["worker_id"].to_numpy()))
    return out.iloc[order].reset_index(drop=True)[list(FLAG_COLUMNS)]


# --------------------------------------------------------------------------- helpers


def _sorted(fixes: pd.DataFrame) -> pd.DataFrame:
    """``fixes`` sorted by worker, patrol and time (returned as is when already sorted)."""
    if len(fixes) < 2:
        return fixes
    t = epoch_seconds(fixes["t"])
    key = pd.factorize(fixes["patrol_key"].to_numpy(dtype=object), sort=True)[0]
    worker = pd.factorize(fixes["worker_id"].to_numpy(dtype=object), sort=True)[0]
    dw, dk, dt = np.diff(worker), np.diff(key), np.diff(t)
    if np.all((dw > 0) | ((dw == 0) & ((dk > 0) | ((dk == 0) & (dt >= 0))))):
        return fixes
    return fixes.iloc[np.lexsort((np.arange(len(fixes)), t, key, worker))]


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "worker_id": pd.Series(dtype="str"),
            "patrol_key": pd.Series(dtype="str"),
            "kind": pd.Series(dtype="str"),
            "reason": pd.Series(dtype="str"),
            "evidence": pd.Series(dtype=object),
            "start": pd.Series(dtype="datetime64[ns, UTC]"),
            "end": pd.Series(dtype="datetime64[ns, UTC]"),
        }
    )


def _flags(records: list[dict[str, Any]]) -> pd.DataFrame:
    if not records:
        return _empty()
    out = pd.DataFrame.from_records(records, columns=list(FLAG_COLUMNS))
    for col in ("start", "end"):
        out[col] = pd.to_datetime(
            np.round(out[col].to_numpy(dtype=np.float64) * 1e9).astype(np.int64),
            unit="ns",
            utc=True,
        )
    for col in ("worker_id", "patrol_key", "kind", "reason"):
        out[col] = out[col].astype("str")
    return out


class _Patrols:
    """Row positions of each patrol in sorted fixes, with its worker and period."""

    def __init__(self, fixes: pd.DataFrame) -> None:
        self.key = fixes["patrol_key"].to_numpy(dtype=object)
        self.t = epoch_seconds(fixes["t"])
        self.worker = fixes["worker_id"].to_numpy(dtype=object)
        first = first_of_group(self.key)
        self.pid = group_ids(first)
        self.first = np.flatnonzero(first)
        self.last = np.append(self.first[1:], len(self.key)) - 1
        self.size = self.last - self.first + 1
        self.start = self.t[self.first] if len(self.key) else np.zeros(0)
        self.end = self.t[self.last] if len(self.key) else np.zeros(0)

    def record(self, p: int, kind: str, reason: str, evidence: dict[str, Any]) -> dict[str, Any]:
        return {
            "worker_id": str(self.worker[self.first[p]]),
            "patrol_key": str(self.key[self.first[p]]),
            "kind": kind,
            "reason": reason,
            "evidence": evidence,
            "start": float(self.start[p]),
            "end": float(self.end[p]),
        }


def _r(value: float, digits: int = 2) -> float:
    return round(float(value), digits)


# --------------------------------------------------------------------------- teleport


def detect_teleports(
    fixes: pd.DataFrame,
    *,
    dropped: pd.DataFrame | None = None,
    thresholds: Thresholds | None = None,
) -> pd.DataFrame:
    """Impossible jumps and excursions (kind ``teleport``; module docstring).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.date_range("2026-10-01 01:00", periods=6, freq="30s", tz="UTC")
    >>> lon = [120.270, 120.2703, 120.37, 120.2709, 120.2712, 120.2715]
    >>> fixes = pd.DataFrame({"worker_id": "W1", "t": t, "lon": lon, "lat": 30.17,
    ...                       "accuracy_m": 5.0, "patrol_key": "p1"})
    >>> flags = detect_teleports(fixes)
    >>> flags[["kind", "start"]].values.tolist()
    [['teleport', Timestamp('2026-10-01 01:01:00+0000', tz='UTC')]]
    >>> flags["evidence"][0]["returned"], flags["evidence"][0]["jump_m"]
    (True, 9603.2)
    """
    th = thresholds or Thresholds()
    f = fixes[["worker_id", "t", "lon", "lat", "patrol_key"]].copy()
    f["lon"], f["lat"] = wgs84_lonlat(fixes)
    f["accuracy_m"] = fixes["accuracy_m"] if "accuracy_m" in fixes.columns else np.nan
    if dropped is not None and len(dropped):
        require_columns(dropped, ["reason", "worker_id", "t", "lon", "lat"], "dropped")
        back = dropped[dropped["reason"].isin(["speed_spike", "poor_accuracy"])]
        if len(back):
            f = pd.concat([f, _assign_patrols(back, f, th)], ignore_index=True)
    f = _sorted(f)
    worker = f["worker_id"].to_numpy(dtype=object)
    key = f["patrol_key"].to_numpy(dtype=object)
    t = epoch_seconds(f["t"])
    lon = f["lon"].to_numpy(dtype=np.float64)
    lat = f["lat"].to_numpy(dtype=np.float64)
    acc = f["accuracy_m"].to_numpy(dtype=np.float64)
    acc = np.where(np.isfinite(acc), acc, th.default_accuracy_m)
    n = len(f)
    if n < 2:
        return _empty()
    d = distance_m(lon[:-1], lat[:-1], lon[1:], lat[1:])
    dt = np.diff(t)
    same = (worker[1:] == worker[:-1]) & (dt > 0)
    d_eff = np.maximum(d - th.error_radii * (acc[:-1] + acc[1:]), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = np.where(dt > 0, d_eff / np.where(dt > 0, dt, 1.0), 0.0)
    bad = same & (
        (speed > th.teleport_speed_mps)
        | ((d_eff > th.teleport_jump_m) & (dt <= th.teleport_jump_s))
    )
    legs = np.flatnonzero(bad)
    records: list[dict[str, Any]] = []
    used: set[int] = set()
    for pos, k in enumerate(legs.tolist()):
        if k in used:
            continue
        back_leg = None
        for m in legs[pos + 1 :].tolist():
            if worker[m] != worker[k] or t[m + 1] - t[k + 1] > th.teleport_return_s:
                break
            if m in used:
                continue
            if distance_m(lon[k], lat[k], lon[m + 1], lat[m + 1]) < d[k] / 2:
                back_leg = m
                break
        evidence: dict[str, Any] = {
            "jump_m": _r(d[k], 1),
            "speed_mps": _r(d[k] / max(dt[k], 1e-9), 1),
            "interval_s": _r(dt[k], 1),
            "jump_lon": _r(lon[k + 1], 6),
            "jump_lat": _r(lat[k + 1], 6),
            "returned": back_leg is not None,
        }
        if back_leg is not None:
            used.add(back_leg)
            away = t[back_leg + 1] - t[k + 1]
            evidence.update(away_s=_r(away, 1), fixes_away=int(back_leg - k))
            reason = (
                f"jumped {d[k] / 1000:.1f} km in {dt[k]:.0f} s and came back {away:.0f} s later"
            )
            start, end = t[k + 1], t[back_leg + 1]
        else:
            reason = f"moved {d[k] / 1000:.1f} km in {dt[k]:.0f} s ({d[k] / dt[k]:.0f} m/s)"
            start, end = t[k], t[k + 1]
        records.append(
            {
                "worker_id": str(worker[k + 1]),
                "patrol_key": str(key[k + 1]),
                "kind": "teleport",
                "reason": reason,
                "evidence": evidence,
                "start": float(start),
                "end": float(end),
            }
        )
    return _flags(records)


def _assign_patrols(rows: pd.DataFrame, fixes: pd.DataFrame, th: Thresholds) -> pd.DataFrame:
    """Dropped rows with the patrol of the nearest kept fix of their worker in time."""
    back = rows[["worker_id", "t", "lon", "lat"]].copy()
    back["lon"], back["lat"] = wgs84_lonlat(rows)
    back["accuracy_m"] = rows["accuracy_m"] if "accuracy_m" in rows.columns else np.nan
    back["t"] = back["t"].dt.as_unit("ns")
    ref = fixes[["worker_id", "t", "patrol_key"]].copy()
    ref["t"] = ref["t"].dt.as_unit("ns")
    ref = ref.sort_values("t", kind="stable")
    back = back.reset_index(drop=True).sort_values("t", kind="stable")
    tol = pd.Timedelta(minutes=th.gap_minutes)
    merged = pd.merge_asof(back, ref, on="t", by="worker_id", direction="nearest", tolerance=tol)
    return merged[merged["patrol_key"].notna()]


# --------------------------------------------------------------------------- sampling


def detect_too_regular(
    fixes: pd.DataFrame, *, thresholds: Thresholds | None = None
) -> pd.DataFrame:
    """Patrols sampled on a perfectly even clock (kind ``too_regular``)."""
    th = thresholds or Thresholds()
    f = _sorted(fixes)
    p = _Patrols(f)
    if len(p.key) < 2:
        return _empty()
    dt = np.diff(p.t)
    inner = p.pid[1:] == p.pid[:-1]
    pid = p.pid[1:][inner]
    dt = dt[inner]
    n_p = len(p.first)
    count = np.bincount(pid, minlength=n_p).astype(np.float64)
    s1 = np.bincount(pid, weights=dt, minlength=n_p)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / count
        var = np.bincount(pid, weights=(dt - mean[pid]) ** 2, minlength=n_p) / count
        cv = np.sqrt(var) / mean
    hit = np.flatnonzero((p.size >= th.regular_min_fixes) & (mean > 0) & (cv < th.regular_max_cv))
    records = [
        p.record(
            int(i),
            "too_regular",
            f"{int(p.size[i])} fixes every {mean[i]:.2f} s with a coefficient of variation "
            f"of {cv[i]:.4f}",
            {"n_fixes": int(p.size[i]), "mean_interval_s": _r(mean[i], 3), "cv": _r(cv[i], 5)},
        )
        for i in hit.tolist()
    ]
    return _flags(records)


def detect_no_noise(fixes: pd.DataFrame, *, thresholds: Thresholds | None = None) -> pd.DataFrame:
    """Patrols whose fixes lack GPS noise (kind ``no_noise``)."""
    th = thresholds or Thresholds()
    f = _sorted(fixes)
    p = _Patrols(f)
    n = len(p.key)
    if n < 3:
        return _empty()
    lon, lat = wgs84_lonlat(f)
    x, y = local_xy(lon, lat)
    i = np.arange(1, n - 1)
    i = i[(p.pid[i - 1] == p.pid[i]) & (p.pid[i + 1] == p.pid[i])]
    span = p.t[i + 1] - p.t[i - 1]
    i = i[span > 0]
    span = p.t[i + 1] - p.t[i - 1]
    w = (p.t[i] - p.t[i - 1]) / span
    rx = x[i] - (x[i - 1] + w * (x[i + 1] - x[i - 1]))
    ry = y[i] - (y[i - 1] + w * (y[i + 1] - y[i - 1]))
    resid = pd.Series(np.hypot(rx, ry)).groupby(p.pid[i])
    med = resid.median()
    cnt = resid.size()
    hit = med.index[(cnt >= th.noise_min_fixes) & (med < th.noise_min_m)]
    records = [
        p.record(
            int(k),
            "no_noise",
            f"median deviation from the neighbours' line {med[k]:.2f} m over {int(cnt[k])} "
            "fixes: smoother than any GPS receiver",
            {"median_residual_m": _r(med[k], 3), "n_fixes": int(cnt[k])},
        )
        for k in hit.tolist()
    ]
    return _flags(records)


# --------------------------------------------------------------------------- stationary


def detect_stationary(fixes: pd.DataFrame, *, thresholds: Thresholds | None = None) -> pd.DataFrame:
    """Long stays within a small radius during a patrol (kind ``stationary``).

    Two rules (module docstring): ``noise`` — a stay of ``stationary_min_minutes``
    within ``stationary_radius_m`` scattering no more than the stated accuracy;
    ``drift`` — a stay of ``stationary_drift_min_minutes`` (60) within
    ``stationary_drift_radius_m`` (60 m) whose median distance from its centre
    is at most ``stationary_drift_max_m`` (30 m), whatever accuracy the phone
    claims: a phone left on a table drifts 10–30 m with correlated GPS error
    (the positions' lag-1 correlation is reported as evidence), while nobody
    patrols for an hour inside a 60 m circle.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> t = pd.date_range("2026-10-01 01:00", periods=80, freq="30s", tz="UTC")
    >>> rng = np.random.default_rng(1)
    >>> fixes = pd.DataFrame({"worker_id": "W1", "t": t, "patrol_key": "p1",
    ...     "lon": 120.27 + rng.normal(0, 5e-5, 80), "lat": 30.17 + rng.normal(0, 5e-5, 80)})
    >>> detect_stationary(fixes)["evidence"][0]["minutes"]
    39.5
    """
    th = thresholds or Thresholds()
    noise = _stationary(fixes, th, th.stationary_radius_m, th.stationary_min_minutes, "noise")
    drift = _stationary(
        fixes, th, th.stationary_drift_radius_m, th.stationary_drift_min_minutes, "drift"
    )
    if len(drift) and len(noise):
        seen = set(zip(noise["patrol_key"], noise["start"], strict=True))
        overlap = [
            any(k == pk and abs((st - s0).total_seconds()) < 3600 for pk, s0 in seen)
            for k, st in zip(drift["patrol_key"], drift["start"], strict=True)
        ]
        drift = drift[~np.asarray(overlap, dtype=bool)]
    out = pd.concat([x for x in (noise, drift) if len(x)] or [_empty()], ignore_index=True)
    return out.sort_values(["worker_id", "start"], kind="stable").reset_index(drop=True)


def _stationary(
    fixes: pd.DataFrame, th: Thresholds, r: float, minutes: float, rule: str
) -> pd.DataFrame:
    """Stays of one rule (``noise`` or ``drift``)."""
    f = _sorted(fixes)
    p = _Patrols(f)
    n = len(p.key)
    min_s = minutes * 60.0
    if n < 2:
        return _empty()
    lon, lat = wgs84_lonlat(f)
    x, y = local_xy(lon, lat)
    acc = (
        f["accuracy_m"].to_numpy(dtype=np.float64)
        if "accuracy_m" in f.columns
        else np.full(n, np.nan)
    )
    acc = np.where(np.isfinite(acc), acc, th.default_accuracy_m)
    # Candidate anchors: a stay from fix i lasting min_s must contain the fixes
    # min_s / 2 and min_s later, or (one stray fix allowed) the fix after each.
    t0 = float(np.min(p.t))
    span = float(np.max(p.t)) - t0 + min_s + 1.0
    combined = p.pid.astype(np.float64) * span + (p.t - t0)
    cand = np.ones(n, dtype=bool)
    for lag in (min_s / 2, min_s):
        j = np.searchsorted(combined, combined + lag, side="left")
        near = np.zeros(n, dtype=bool)
        for k in (j, j + 1):
            ok = k < n
            kk = np.where(ok, k, 0)
            ok &= p.pid[kk] == p.pid
            near |= ok & (np.hypot(x[kk] - x, y[kk] - y) <= r)
        cand &= near
    records: list[dict[str, Any]] = []
    covered = -1
    for i in np.flatnonzero(cand).tolist():
        if i <= covered:
            continue
        pid = int(p.pid[i])
        end = int(p.last[pid]) + 1
        last = i + _stay_length(x[i:end], y[i:end], r) - 1
        if p.t[last] - p.t[i] < min_s:
            continue
        covered = last
        rows = np.arange(i, last + 1)
        minutes = (p.t[last] - p.t[i]) / 60.0
        cx, cy = float(np.median(x[rows])), float(np.median(y[rows]))
        dist = np.hypot(x[rows] - cx, y[rows] - cy)
        spread = float(np.median(dist))
        noise = max(
            th.stationary_noise_factor * float(np.median(acc[rows])),
            th.stationary_noise_floor_m,
        )
        if rule == "noise" and spread > noise:
            continue  # moving about inside the circle, not lying still
        if rule == "drift" and spread > th.stationary_drift_max_m:
            continue
        dx, dy = x[rows] - cx, y[rows] - cy
        ss0 = np.sum(dx[:-1] ** 2 + dy[:-1] ** 2)
        den = float(np.sqrt(ss0 * np.sum(dx[1:] ** 2 + dy[1:] ** 2)))
        corr = float(np.sum(dx[:-1] * dx[1:] + dy[:-1] * dy[1:]) / den) if den > 0 else 0.0
        rec = p.record(
            pid,
            "stationary",
            f"{minutes:.0f} min within {r:.0f} m of one spot during a patrol",
            {
                "minutes": _r(minutes, 1),
                "n_fixes": int(rows.size),
                "lon": _r(np.median(lon[rows]), 6),
                "lat": _r(np.median(lat[rows]), 6),
                "max_distance_m": _r(float(dist.max()), 1),
                "median_distance_m": _r(spread, 1),
                "median_accuracy_m": _r(float(np.median(acc[rows])), 1),
                "position_correlation": _r(corr, 3),
                "rule": rule,
            },
        )
        rec["start"], rec["end"] = float(p.t[i]), float(p.t[last])
        records.append(rec)
    return _flags(records)


def _stay_length(x: np.ndarray, y: np.ndarray, r: float, chunk: int = 256) -> int:
    """Fixes from the anchor ``x[0], y[0]`` up to the last near one before two far in a row."""
    far_prev = False
    last_near = 0
    for lo in range(0, len(x), chunk):
        far = np.hypot(x[lo : lo + chunk] - x[0], y[lo : lo + chunk] - y[0]) > r
        both = far[1:] & far[:-1]
        stops = np.flatnonzero(both)
        if far_prev and far[0]:
            return last_near + 1
        if stops.size:
            near = np.flatnonzero(~far[: int(stops[0])])
            if near.size:
                last_near = lo + int(near[-1])
            return last_near + 1
        near = np.flatnonzero(~far)
        if near.size:
            last_near = lo + int(near[-1])
        far_prev = bool(far[-1])
    return last_near + 1


# --------------------------------------------------------------------------- replay, copy


def detect_replays(fixes: pd.DataFrame, *, thresholds: Thresholds | None = None) -> pd.DataFrame:
    """Near-replays of earlier patrols (kind ``replay``; :mod:`gridgeo.tracks.detectors.replay`)."""
    return _replays_and_copies(fixes, thresholds)[0]


def detect_copies(fixes: pd.DataFrame, *, thresholds: Thresholds | None = None) -> pd.DataFrame:
    """Copied same-day tracks of colleagues (kind ``copy``).

    See :mod:`gridgeo.tracks.detectors.replay`.
    """
    return _replays_and_copies(fixes, thresholds)[1]


def _replays_and_copies(
    fixes: pd.DataFrame, thresholds: Thresholds | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    th = thresholds or Thresholds()
    f = _sorted(fixes)
    if len(f) == 0:
        return _empty(), _empty()
    rep, cop = detect_replays_and_copies(f, PatrolArrays.build(f), th)
    return _flags(rep), _flags(cop)


def detect_spoofing(fixes: pd.DataFrame, *, thresholds: Thresholds | None = None) -> pd.DataFrame:
    """Simulated movement (kind ``spoofing``; :mod:`gridgeo.tracks.detectors.spoofing`)."""
    th = thresholds or Thresholds()
    f = _sorted(fixes)
    if len(f) == 0:
        return _empty()
    return _flags(spoofing_records(f, PatrolArrays.build(f), th))


def detect_vehicle(
    fixes: pd.DataFrame,
    *,
    modes: Mapping[str, str] | None = None,
    roster: pd.DataFrame | None = None,
    thresholds: Thresholds | None = None,
) -> pd.DataFrame:
    """Riding or driving faster than the grid's mode allows (kind ``vehicle``).

    See :mod:`gridgeo.tracks.detectors.vehicle`.
    """
    th = thresholds or Thresholds()
    f = _sorted(fixes)
    if len(f) == 0:
        return _empty()
    return _flags(vehicle_records(f, PatrolArrays.build(f), th, modes=modes, roster=roster))


# --------------------------------------------------------------------------- outside


def detect_outside(
    fixes: pd.DataFrame,
    roster: pd.DataFrame,
    index: LocateIndex,
    *,
    base_index: LocateIndex | None = None,
    thresholds: Thresholds | None = None,
) -> pd.DataFrame:
    """Patrols spent mostly outside the worker's assignment area (kind ``outside``)."""
    th = thresholds or Thresholds()
    f = _sorted(fixes)
    if not all(c in f.columns for c in JOIN_COLUMNS):
        f = join_to_grids(f, index, base_index=base_index, gap_minutes=th.gap_minutes).fixes
    if len(f) == 0:
        return _empty()
    areas = assignment_areas(roster, index)
    inside, known = inside_assigned(f, areas)
    p = _Patrols(f)
    w = interval_weights(f, gap_minutes=th.gap_minutes)
    n_p = len(p.first)
    total = np.bincount(p.pid, weights=w, minlength=n_p)
    out_t = np.bincount(p.pid, weights=np.where(inside, 0.0, w), minlength=n_p)
    out_n = np.bincount(p.pid, weights=(~inside).astype(np.float64), minlength=n_p)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, out_t / np.where(total > 0, total, 1.0), out_n / p.size)
    known_p = np.bincount(p.pid, weights=known.astype(np.float64), minlength=n_p) == p.size
    hit = np.flatnonzero(known_p & (share > th.outside_max_share))
    if not hit.size:
        return _empty()
    a = areas.drop_duplicates("worker_id").set_index("worker_id")
    grid = f["grid_code"].to_numpy(dtype=object)
    frame = pd.DataFrame(
        {"pid": p.pid, "grid": pd.Series(grid, dtype=object).fillna("(no unit)"), "w": w}
    )
    frame = frame[~inside & np.isin(p.pid, hit)]
    top = (
        frame.groupby(["pid", "grid"])["w"].sum().reset_index().sort_values(["pid", "w"])
        if len(frame)
        else pd.DataFrame(columns=["pid", "grid", "w"])
    )
    main = top.drop_duplicates("pid", keep="last").set_index("pid")["grid"]
    records = []
    for i in hit.tolist():
        worker = str(p.worker[p.first[i]])
        area = str(a.at[worker, "area_code"])
        where = str(main.get(i, "(no unit)"))
        records.append(
            p.record(
                i,
                "outside",
                f"{share[i]:.0%} of the patrol outside the assigned area {area}"
                f" (mostly in {where})",
                {
                    "share_outside": _r(share[i], 3),
                    "assigned_code": str(a.at[worker, "assigned_code"]),
                    "area_code": area,
                    "main_outside_grid": where,
                    "patrol_minutes": _r(total[i] / 60.0, 1),
                },
            )
        )
    return _flags(records)
