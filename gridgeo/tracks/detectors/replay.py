"""Near-replays of earlier patrols and copied tracks of colleagues (kinds ``replay``, ``copy``).

Rule
----
A cheat who replays a patrol (his own or a colleague's, days later) or copies a
colleague's same-day track keeps what cannot be faked cheaply: the *motion*
of the source — where it was after how many seconds, its pauses and speed —
while the positions get fresh noise (up to 10 m), an offset, dropped or
resampled fixes. Two honest patrols along the same streets never share that
motion: walking speeds differ by a few per cent and pauses by minutes, so after
half an hour they are hundreds of metres apart at equal elapsed times.

1. **Candidates from an index, not all pairs.** Each moving patrol (reach over
   ``stationary_radius_m``) becomes the sequence of H3 cells
   (resolution ``replay_h3_res``, 10: edges of about 66 m) of its fixes,
   consecutive repeats and one-cell flickers (A B A) removed; its 3-cell
   shingles (direction-free) are MinHashed (48 hashes) and banded (24 bands
   of 2, locality-sensitive hashing: pairs with shingle Jaccard 0.2 are
   candidates with probability 0.6, pairs with 0.3 with 0.9). The positions are
   first averaged over 3 consecutive fixes and the polyline densified every
   30 m, so fresh noise and dropped fixes change few shingles. Buckets
   holding more than ``_MAX_BUCKET`` patrols are skipped (meeting places).
2. **Time-aligned comparison.** For a candidate pair (earlier ``A``, later
   ``B``), ``B``'s fixes are compared with ``A`` interpolated at ``t - s`` over
   shifts ``s`` around the difference of their starts and of their ends (±
   ``replay_search_s``, 10 s steps, then 1 s), forwards and backwards in time.
   The distance of the pair is the median over ``B``'s fixes that fall inside
   ``A``'s span (at least ``replay_min_coverage``, 80 %, of ``B``'s fixes).
3. **Replay**: ``A`` ended before ``B`` began and the median distance is at
   most ``replay_max_median_m`` (15 m: fresh noise of 10 m per fix has a
   median of about 12 m). Evidence: source patrol and worker, shift,
   median distance, share of fixes within 2 × the median, ``order_correlation``
   (+1 forwards, −1 backwards).
4. **Coincident tracks of two workers** (their periods overlap): after the
   alignment, the offset ``o`` (median of the difference vectors) and the
   residuals ``r = d - o`` are measured. Two phones carried together have
   *independent* errors — residuals of several metres, correlated in time,
   fix times that do not coincide. A transformed copy has the source's fix
   time pattern (at least ``copy_min_time_match``, 80 %, of its fixes at the
   source's times plus one constant shift) or the source's noise (residual
   RMS at most ``copy_max_residual_m``, 2 m). Such a pair gets a ``copy``
   flag naming both workers; the copier is named when the evidence says
   which is the copy — a later upload (``uploaded_at`` or ``received_at``
   column), or fix times that are a strict subset of the other's (a copy
   can drop fixes, not invent them), or added white noise (its fix-to-line residuals at least 1.3 ×
   the other's), or its clock shifted later — and otherwise left open
   (``copier`` null). Joint patrols (independent noise) are not flagged.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import repeat
from typing import TYPE_CHECKING, Any, Final

import h3.api.basic_int as h3i
import numpy as np
import pandas as pd

from gridgeo.tracks.detectors._patrols import FloatArray, PatrolArrays, rnd

if TYPE_CHECKING:
    from gridgeo.tracks.authenticity import Thresholds

__all__ = ["candidate_pairs", "compare_pair", "detect_replays_and_copies"]

_N_HASH: Final = 48
_BAND: Final = 2
_MAX_BUCKET: Final = 60
_PRIME: Final = np.uint64((1 << 31) - 1)  # a * v + b < 2**63: no overflow
_UPLOAD_COLUMNS: Final = ("uploaded_at", "received_at")


def _densify(
    pa: PatrolArrays, patrols: np.ndarray, step_m: float
) -> tuple[FloatArray, FloatArray, np.ndarray]:
    """Points every ``step_m`` along each patrol's polyline (so dropped fixes barely matter)."""
    parts = [np.arange(pa.first[p], pa.last[p] + 1) for p in patrols.tolist()]
    rows = np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)
    if rows.size == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64)
    nxt = np.minimum(rows + 1, pa.x.size - 1)
    prv = np.maximum(rows - 1, 0)
    same = (pa.pid[nxt] == pa.pid[rows]) & (nxt != rows)
    before = (pa.pid[prv] == pa.pid[rows]) & (prv != rows)
    # A 3-fix running mean: fresh white noise shrinks, the source's path does not move.
    wgt = 1.0 + same + before
    lat_s = np.zeros(pa.lat.size)
    lon_s = np.zeros(pa.lon.size)
    lat_s[rows] = (pa.lat[rows] + same * pa.lat[nxt] + before * pa.lat[prv]) / wgt
    lon_s[rows] = (pa.lon[rows] + same * pa.lon[nxt] + before * pa.lon[prv]) / wgt
    seg = np.where(same, np.hypot(pa.x[nxt] - pa.x[rows], pa.y[nxt] - pa.y[rows]), 0.0)
    k = np.minimum(np.ceil(seg / step_m), 200).astype(np.int64)
    k = np.maximum(k, 1)
    rep = np.repeat(rows, k)
    frac = (np.arange(rep.size) - np.repeat(np.cumsum(k) - k, k)) / np.repeat(k, k)
    nx = np.repeat(nxt, k)
    lat = lat_s[rep] + frac * (lat_s[nx] - lat_s[rep]) * np.repeat(same, k)
    lon = lon_s[rep] + frac * (lon_s[nx] - lon_s[rep]) * np.repeat(same, k)
    return lat, lon, pa.pid[rep]


def _shingles(cells: list[int]) -> set[int]:
    seq: list[int] = []
    for c in cells:
        if seq and seq[-1] == c:
            continue
        if len(seq) >= 2 and seq[-2] == c:  # A B A: flicker on a boundary
            seq.pop()
            continue
        seq.append(c)
    if len(seq) < 3:
        return {hash(tuple(seq))} if seq else set()
    out = set()
    for i in range(len(seq) - 2):
        fwd = (seq[i], seq[i + 1], seq[i + 2])
        out.add(hash(min(fwd, fwd[::-1])))
    return out


def candidate_pairs(
    pa: PatrolArrays, patrols: np.ndarray, res: int, seed: int = 7
) -> set[tuple[int, int]]:
    """Pairs of patrols (indices into ``pa``) sharing a MinHash band bucket."""
    lat, lon, owner = _densify(pa, patrols, step_m=30.0)
    cells_all = np.fromiter(
        map(h3i.latlng_to_cell, lat.tolist(), lon.tolist(), repeat(res)),
        dtype=np.uint64,
        count=lat.size,
    )
    bounds = np.searchsorted(owner, np.arange(pa.n + 1))
    rng = np.random.default_rng(seed)
    a = rng.integers(1, _PRIME, _N_HASH, dtype=np.uint64)
    b = rng.integers(0, _PRIME, _N_HASH, dtype=np.uint64)
    buckets: dict[tuple[int, int, int], list[int]] = defaultdict(list)
    for p in patrols.tolist():
        sh = _shingles(cells_all[bounds[p] : bounds[p + 1]].tolist())
        if not sh:
            continue
        v = np.fromiter((h & 0x7FFFFFFF for h in sh), dtype=np.uint64, count=len(sh))
        sig = ((a[:, None] * v[None, :] + b[:, None]) % _PRIME).min(axis=1).tolist()
        for band in range(_N_HASH // _BAND):
            key = (band, *sig[band * _BAND : (band + 1) * _BAND])
            buckets[(key[0], key[1], key[2])].append(p)
    pairs: set[tuple[int, int]] = set()
    for members in buckets.values():
        if len(members) < 2 or len(members) > _MAX_BUCKET:
            continue
        for i, p in enumerate(members):
            for q in members[i + 1 :]:
                pairs.add((min(p, q), max(p, q)))
    return pairs


def _distances(
    ta: FloatArray,
    xa: FloatArray,
    ya: FloatArray,
    tb: FloatArray,
    xb: FloatArray,
    yb: FloatArray,
    shifts: FloatArray,
    *,
    exact: bool,
) -> tuple[FloatArray, FloatArray]:
    """Distance of B to A shifted by each of ``shifts`` and B's coverage by A's span.

    ``exact``: the median distance over covered fixes; otherwise (coarse search)
    the mean of distances capped at 100 m, a cheap stand-in.
    """
    tt = tb[None, :] - shifts[:, None]
    inside = (tt >= ta[0]) & (tt <= ta[-1])
    d = np.hypot(np.interp(tt, ta, xa) - xb[None, :], np.interp(tt, ta, ya) - yb[None, :])
    cov = inside.mean(axis=1)
    cnt = np.maximum(inside.sum(axis=1), 1)
    if exact:
        d = np.where(inside, d, np.inf)
        d.sort(axis=1)
        rows = np.arange(shifts.size)
        mid = (cnt - 1) // 2
        val = 0.5 * (d[rows, mid] + d[rows, cnt // 2])
    else:
        val = np.where(inside, np.minimum(d, 100.0), 0.0).sum(axis=1) / cnt
    return np.where(cov > 0, val, np.inf), cov


def compare_pair(
    ta: FloatArray,
    xa: FloatArray,
    ya: FloatArray,
    tb: FloatArray,
    xb: FloatArray,
    yb: FloatArray,
    *,
    search_s: float,
    min_coverage: float,
) -> dict[str, Any] | None:
    """Best time alignment of B on A (forwards or backwards): shift, median distance, coverage."""
    best: dict[str, Any] | None = None
    sub = np.unique(np.linspace(0, tb.size - 1, min(tb.size, 60)).round().astype(np.int64))
    sb, sx, sy = tb[sub], xb[sub], yb[sub]
    for direction in (1, -1):
        if direction == 1:
            at, ax, ay = ta, xa, ya
        else:
            at, ax, ay = -ta[::-1], xa[::-1], ya[::-1]
        coarse = np.unique(
            np.concatenate(
                [
                    c + np.arange(-search_s, search_s + 1.0, 10.0)
                    for c in (tb[0] - at[0], tb[-1] - at[-1])
                ]
            )
        )
        cost, cov = _distances(at, ax, ay, sb, sx, sy, coarse, exact=False)
        cost = np.where(cov >= min_coverage, cost, np.inf)
        k = int(np.argmin(cost))
        if not np.isfinite(cost[k]) or cost[k] >= 90.0:
            continue
        fine = coarse[k] + np.arange(-10.0, 11.0, 1.0)
        med, cov2 = _distances(at, ax, ay, tb, xb, yb, fine, exact=True)
        med = np.where(cov2 >= min_coverage, med, np.inf)
        j = int(np.argmin(med))
        if np.isfinite(med[j]) and (best is None or med[j] < best["median_m"]):
            best = {
                "shift_s": float(fine[j]),
                "median_m": float(med[j]),
                "coverage": float(cov2[j]),
                "direction": direction,
                "t": at,
                "x": ax,
                "y": ay,
            }
    return best


def _roughness(t: FloatArray, x: FloatArray, y: FloatArray) -> float:
    """Median distance of interior fixes from their neighbours' constant-speed line."""
    if t.size < 5:
        return float("nan")
    span = t[2:] - t[:-2]
    w = np.where(span > 0, (t[1:-1] - t[:-2]) / np.where(span > 0, span, 1.0), 0.5)
    rx = x[1:-1] - (x[:-2] + w * (x[2:] - x[:-2]))
    ry = y[1:-1] - (y[:-2] + w * (y[2:] - y[:-2]))
    return float(np.median(np.hypot(rx, ry)))


def _time_match(at: FloatArray, tb: FloatArray, s: float) -> float:
    tt = tb - s
    inside = (tt >= at[0] - 0.5) & (tt <= at[-1] + 0.5)
    if not inside.any():
        return 0.0
    j = np.clip(np.searchsorted(at, tt), 1, at.size - 1)
    near = np.minimum(np.abs(at[j] - tt), np.abs(at[j - 1] - tt))
    return float(np.mean(near[inside] <= 0.5))


def _copy_evidence(
    al: dict[str, Any], tb: FloatArray, xb: FloatArray, yb: FloatArray
) -> dict[str, float]:
    at, ax, ay = al["t"], al["x"], al["y"]
    # The clock shift that puts most of B's fixes on A's fix times (a copy's
    # pattern survives any offset); near the position-based alignment.
    trial = np.round(al["shift_s"]) + np.arange(-60.0, 61.0)
    matches = np.array([_time_match(at, tb, s) for s in trial])
    k = int(np.argmax(matches))
    match = float(matches[k])
    s = float(trial[k]) if match >= 0.5 else float(al["shift_s"])
    al["shift_s"] = s
    tt = tb - s
    inside = (tt >= at[0]) & (tt <= at[-1])
    dx = xb[inside] - np.interp(tt[inside], at, ax)
    dy = yb[inside] - np.interp(tt[inside], at, ay)
    ox, oy = float(np.median(dx)), float(np.median(dy))
    rx, ry = dx - ox, dy - oy
    rms = float(np.sqrt(np.mean(rx**2 + ry**2))) if rx.size else float("inf")
    return {"offset_m": float(np.hypot(ox, oy)), "residual_rms_m": rms, "time_match": match}


def detect_replays_and_copies(
    fixes: pd.DataFrame, pa: PatrolArrays, th: Thresholds
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Replay and copy flag records (module docstring)."""
    n = pa.n
    if n < 2:
        return [], []
    cx = np.array([np.median(pa.x[pa.rows(p)]) for p in range(n)])
    cy = np.array([np.median(pa.y[pa.rows(p)]) for p in range(n)])
    reach = np.array(
        [np.max(np.hypot(pa.x[pa.rows(p)] - cx[p], pa.y[pa.rows(p)] - cy[p])) for p in range(n)]
    )
    size = pa.last - pa.first + 1
    moving = np.flatnonzero((reach > th.stationary_radius_m) & (size >= 8))
    pairs = candidate_pairs(pa, moving, int(th.replay_h3_res))
    pairs |= _coincident_pairs(pa, moving, cx, cy)
    start = pa.t[pa.first]
    end = pa.t[pa.last]
    upload = _upload_times(fixes, pa)
    rough = {
        p: _roughness(pa.t[pa.rows(p)], pa.x[pa.rows(p)], pa.y[pa.rows(p)])
        for p in moving.tolist()
    }
    replays: dict[int, dict[str, Any]] = {}
    copies: list[dict[str, Any]] = []
    for p, q in sorted(pairs):
        a, b = (p, q) if (start[p], p) <= (start[q], q) else (q, p)
        overlap = start[b] <= end[a]
        if overlap and pa.worker[pa.first[a]] == pa.worker[pa.first[b]]:
            continue
        ra, rb = pa.rows(a), pa.rows(b)
        if overlap and not _roughly_together(
            pa.t[ra], pa.x[ra], pa.y[ra], pa.t[rb], pa.x[rb], pa.y[rb],
            th.replay_search_s, th.copy_max_offset_m + 50.0,
        ):  # fmt: skip
            continue
        al = compare_pair(
            pa.t[ra], pa.x[ra], pa.y[ra], pa.t[rb], pa.x[rb], pa.y[rb],
            search_s=th.replay_search_s, min_coverage=th.replay_min_coverage,
        )  # fmt: skip
        if al is None:
            continue
        if not overlap:
            if al["median_m"] > th.replay_max_median_m:
                continue
            if b in replays and replays[b]["median_m"] <= al["median_m"]:
                continue
            tt = pa.t[rb] - al["shift_s"]
            ins = (tt >= al["t"][0]) & (tt <= al["t"][-1])
            d = np.hypot(
                np.interp(tt[ins], al["t"], al["x"]) - pa.x[rb][ins],
                np.interp(tt[ins], al["t"], al["y"]) - pa.y[rb][ins],
            )
            within = float(np.mean(d <= max(2 * al["median_m"], 1.0)))
            replays[b] = {**al, "source": a, "within": within}
            continue
        if al["median_m"] > th.copy_max_offset_m + th.replay_max_median_m:
            continue
        ev = _copy_evidence(al, pa.t[rb], pa.x[rb], pa.y[rb])
        if ev["offset_m"] > th.copy_max_offset_m:
            continue
        same_times = ev["time_match"] >= th.copy_min_time_match
        same_noise = ev["residual_rms_m"] <= th.copy_max_residual_m
        if not (same_times or same_noise):
            continue  # independent noise: a joint patrol
        subset = _subset_side(pa.t[ra], pa.t[rb], al["shift_s"]) if al["direction"] == 1 else 0
        copier, why = _which_copy(a, b, upload, rough, al["shift_s"], subset)
        copies.append({"a": a, "b": b, "al": al, "ev": ev, "copier": copier, "why": why})
    rep_records = []
    for b, r in sorted(replays.items()):
        a = int(r["source"])
        src_key = str(pa.key[pa.first[a]])
        rep_records.append(
            pa.record(
                b,
                "replay",
                f"repeats patrol {src_key} shifted by {r['shift_s'] / 86400:.2f} days: median "
                f"distance at equal elapsed time {r['median_m']:.1f} m",
                {
                    "source_patrol_key": src_key,
                    "source_worker_id": str(pa.worker[pa.first[a]]),
                    "shift_s": rnd(r["shift_s"], 1),
                    "median_distance_m": rnd(r["median_m"], 3),
                    "share_within_m": rnd(r["within"], 3),
                    "coverage": rnd(r["coverage"], 3),
                    "order_correlation": float(r["direction"]),
                    "source_start": rnd(pa.t[pa.first[a]], 0),
                    "source_end": rnd(pa.t[pa.last[a]], 0),
                },
            )
        )
    copy_records = []
    for c in copies:
        a, b = int(c["a"]), int(c["b"])
        wa, wb = str(pa.worker[pa.first[a]]), str(pa.worker[pa.first[b]])
        copier = c["copier"]
        info: dict[str, Any] = {
            "copier": None if copier is None else str(pa.worker[pa.first[copier]]),
            "original": None if copier is None else (wa if copier == b else wb),
            "copier_evidence": c["why"],
            "offset_m": rnd(c["ev"]["offset_m"], 2),
            "residual_rms_m": rnd(c["ev"]["residual_rms_m"], 3),
            "time_match": rnd(c["ev"]["time_match"], 3),
            "shift_s": rnd(c["al"]["shift_s"], 1),
            "median_distance_m": rnd(c["al"]["median_m"], 2),
        }
        targets = [copier] if copier is not None else [a, b]
        for p in targets:
            other = b if p == a else a
            e = dict(info)
            e["other_patrol_key"] = str(pa.key[pa.first[other]])
            e["other_worker_id"] = str(pa.worker[pa.first[other]])
            e["other_start"] = rnd(pa.t[pa.first[other]], 0)
            e["other_end"] = rnd(pa.t[pa.last[other]], 0)
            who = "copied from" if copier is not None else "coincides with"
            copy_records.append(
                pa.record(
                    p,
                    "copy",
                    f"{who} {e['other_worker_id']}'s patrol: offset {info['offset_m']:.1f} m, "
                    f"residual {info['residual_rms_m']:.2f} m, {info['time_match']:.0%} of fix "
                    "times shared",
                    e,
                )
            )
    return rep_records, copy_records


def _roughly_together(
    ta: FloatArray, xa: FloatArray, ya: FloatArray, tb: FloatArray, xb: FloatArray, yb: FloatArray,
    search_s: float, within_m: float,
) -> bool:
    """Cheap test before the full alignment: 12 of B's fixes near A at some 30 s shift."""
    k = np.unique(np.linspace(0, tb.size - 1, min(tb.size, 12)).round().astype(np.int64))
    shifts = np.arange(-search_s, search_s + 1.0, 30.0)
    tt = tb[k][None, :] - shifts[:, None]
    inside = (tt >= ta[0]) & (tt <= ta[-1])
    d = np.hypot(np.interp(tt, ta, xa) - xb[k][None, :], np.interp(tt, ta, ya) - yb[k][None, :])
    d = np.where(inside, d, np.inf)
    d.sort(axis=1)
    return bool(np.any(d[:, k.size // 2] <= within_m))


def _coincident_pairs(
    pa: PatrolArrays, patrols: np.ndarray, cx: FloatArray, cy: FloatArray, cell_m: float = 1000.0
) -> set[tuple[int, int]]:
    """Pairs of patrols of different workers overlapping in time, centres 1 km cells apart."""
    start, end = pa.t[pa.first], pa.t[pa.last]
    # Bounding boxes (50 m margin): coinciding tracks overlap there.
    lo_x = np.minimum.reduceat(pa.x, pa.first) - 50.0 if pa.n else np.zeros(0)
    hi_x = np.maximum.reduceat(pa.x, pa.first) + 50.0 if pa.n else np.zeros(0)
    lo_y = np.minimum.reduceat(pa.y, pa.first) - 50.0 if pa.n else np.zeros(0)
    hi_y = np.maximum.reduceat(pa.y, pa.first) + 50.0 if pa.n else np.zeros(0)
    by_cell: dict[tuple[int, int], list[int]] = defaultdict(list)
    for p in patrols.tolist():
        by_cell[(int(cx[p] // cell_m), int(cy[p] // cell_m))].append(p)
    pairs: set[tuple[int, int]] = set()
    for (i, j), members in by_cell.items():
        near = [
            q for di in (-1, 0, 1) for dj in (-1, 0, 1) for q in by_cell.get((i + di, j + dj), [])
        ]
        if len(near) < 2:
            continue
        ns = np.array(near)
        order = np.argsort(start[ns])
        ns = ns[order]
        for p in members:
            lo = np.searchsorted(start[ns], start[p] - 12 * 3600)
            for q in ns[lo:].tolist():
                if start[q] > end[p]:
                    break
                if q == p or end[q] < start[p] or pa.worker[pa.first[q]] == pa.worker[pa.first[p]]:
                    continue
                # Most of the larger box must overlap: a copy covers the same ground.
                ix = min(hi_x[p], hi_x[q]) - max(lo_x[p], lo_x[q])
                iy = min(hi_y[p], hi_y[q]) - max(lo_y[p], lo_y[q])
                area_p = (hi_x[p] - lo_x[p]) * (hi_y[p] - lo_y[p])
                area_q = (hi_x[q] - lo_x[q]) * (hi_y[q] - lo_y[q])
                if ix <= 0 or iy <= 0 or ix * iy < 0.5 * max(area_p, area_q):
                    continue
                pairs.add((min(p, q), max(p, q)))
    return pairs


def _upload_times(fixes: pd.DataFrame, pa: PatrolArrays) -> dict[int, float]:
    for col in _UPLOAD_COLUMNS:
        if col in fixes.columns:
            v = pd.to_datetime(fixes[col], utc=True, errors="coerce")
            sec = (v - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()
            out = {}
            for p in range(pa.n):
                s = sec[pa.rows(p)]
                if np.isfinite(s).any():
                    out[p] = float(np.nanmax(s))
            return out
    return {}


def _subset_side(ta: FloatArray, tb: FloatArray, shift: float) -> int:
    """+1 when B's fix times are a strict subset of A's (shifted), -1 for the reverse, else 0.

    A copy can drop fixes of its source but cannot invent fixes the source lacks.
    """
    in_a = _time_match(ta, tb, shift)  # share of B's fixes at A's times
    in_b = _time_match(tb, ta, -shift)  # share of A's fixes at B's times
    if in_a >= 0.95 and in_b <= in_a - 0.03:
        return 1
    if in_b >= 0.95 and in_a <= in_b - 0.03:
        return -1
    return 0


def _which_copy(
    a: int,
    b: int,
    upload: dict[int, float],
    rough: dict[int, float],
    shift: float,
    subset: int = 0,
) -> tuple[int | None, str]:
    """The copier (``a`` or ``b``) and the evidence that names it, or ``None``."""
    if a in upload and b in upload and abs(upload[a] - upload[b]) >= 1.0:
        return (b, "later upload") if upload[b] > upload[a] else (a, "later upload")
    if subset:
        return (b if subset > 0 else a), "fix times a subset of the other's"
    ra, rb = rough.get(a, np.nan), rough.get(b, np.nan)
    if np.isfinite(ra) and np.isfinite(rb) and max(ra, rb) >= 1.3 * min(ra, rb) + 0.3:
        return (b, "added noise") if rb > ra else (a, "added noise")
    if abs(shift) >= 1.0:
        return (b, "clock shifted later") if shift > 0 else (a, "clock shifted later")
    return None, "undetermined"
