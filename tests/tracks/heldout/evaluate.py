"""Run the product's public flag function on a held-out set and score it.

Matching rule
-------------
Every flag *accuses* one worker over its time window ``[start, end]``: the
worker named as ``copier`` in the evidence for a copy flag (see
:data:`COPIER_KEYS`), else the flag's ``worker_id``. A flag whose start or
end is missing covers all time. A copy flag whose evidence names no copier
is *neutral* (a coincident pair put up for review without saying who
copied): it accuses its ``worker_id``, but see the exception below.

* A cheat is **caught** when a flag of one of the kinds
  :data:`CAUGHT_BY` lists for it accuses the cheat's worker over a window
  that overlaps the cheat's ``[start, end]`` (closed intervals).
* An honest patrol is a **false positive** when any flag, of any kind,
  accuses its worker over a window that overlaps the patrol. A copy flag
  that names this worker as the *original* does not accuse him, and neither
  does a neutral copy flag when the patrol really was copied (the pair is
  rightly put up for review; on a joint patrol it is a false positive).
* A caught replay **names its source** when the evidence of a replay flag
  that catches it contains ``"<source worker>@<source day YYYYMMDD>"`` (the
  start of the replayed patrol's ``patrol_key``).
* For a copied track, the **copier is named** when the copy is caught (a
  non-neutral copy flag accuses the copier), and the **original is named**
  when a non-neutral flag of a copy or replay kind (:data:`ORIGINAL_NAMED_BY`)
  accuses the original's worker over the copied patrol (the replay check of
  October 2026 flagged the honest colleague of a near-exact copy).

Only the flag kind names in :data:`CAUGHT_BY` and the evidence keys in
:data:`COPIER_KEYS` depend on the product; adjust them there.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from gridgeo.tracks import (
    authenticity_flags,
    build_indexes,
    clean_fixes,
    join_to_grids,
    normalise_fixes,
    split_patrols,
    validate_fixes,
)
from tests.tracks.heldout.scenario import CHEAT_KINDS, Heldout

CAUGHT_BY: Final[dict[str, frozenset[str]]] = {
    "replay": frozenset({"replay"}),
    "copy": frozenset({"copy"}),
    "spoofing": frozenset({"spoofing", "no_noise", "too_regular"}),
    "vehicle": frozenset({"vehicle", "teleport"}),
    "stationary": frozenset({"stationary"}),
    "outside": frozenset({"outside"}),
}
"""Flag kinds (the product's ``kind``) that count as catching each cheat kind."""

COPIER_KEYS: Final = ("copier", "copier_worker_id", "copier_worker")
"""Evidence keys naming the copier of a copy flag."""

ORIGINAL_NAMED_BY: Final = CAUGHT_BY["copy"] | CAUGHT_BY["replay"]
"""Flag kinds that, accusing the original's worker, count as naming the original."""


def evidence_of(value: Any) -> dict[str, Any]:
    """A flag's evidence as a dict (the product may store a dict or JSON text)."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def accused(flags: pd.DataFrame) -> pd.DataFrame:
    """One row per flag: ``kind``, the accused ``worker``, ``start``, ``end``,
    the evidence as JSON ``text`` and ``neutral`` (a copy flag naming no copier)."""
    workers, texts, neutral = [], [], []
    for kind, worker, ev in zip(flags["kind"], flags["worker_id"], flags["evidence"], strict=True):
        e = evidence_of(ev)
        who = worker
        copier = next((e[k] for k in COPIER_KEYS if e.get(k)), None)
        if kind in CAUGHT_BY["copy"] and copier is not None:
            who = copier
        neutral.append(kind in CAUGHT_BY["copy"] and copier is None)
        workers.append(str(who))
        texts.append(json.dumps(e, default=str, ensure_ascii=False))
    start = pd.to_datetime(flags["start"], utc=True).fillna(pd.Timestamp.min.tz_localize("UTC"))
    end = pd.to_datetime(flags["end"], utc=True).fillna(pd.Timestamp.max.tz_localize("UTC"))
    return pd.DataFrame(
        {
            "kind": flags["kind"].astype(str).to_numpy(),
            "worker": workers,
            "start": start.to_numpy(),
            "end": end.to_numpy(),
            "text": texts,
            "neutral": np.asarray(neutral, dtype=bool),
        }
    )


def run_product(h: Heldout) -> pd.DataFrame:
    """The product's flags for the held-out fixes, through its public functions.

    normalise → validate → clean → split → join →
    :func:`gridgeo.tracks.authenticity_flags`, as uploads are processed (and as
    ``tests/tracks/test_sample_city.py`` does after reading a file). When the flag function
    accepts per-grid travel modes (``modes``), it gets :attr:`Heldout.modes`
    (e-bike allowed in rural grids, walking elsewhere).
    """
    index, base_index = build_indexes(h.units)
    good, _ = validate_fixes(normalise_fixes(h.fixes), h.roster["worker_id"])
    cleaned = clean_fixes(good)
    fixes = join_to_grids(split_patrols(cleaned.fixes), index, base_index=base_index).fixes
    kwargs: dict[str, Any] = {"base_index": base_index, "dropped": cleaned.dropped}
    params = inspect.signature(authenticity_flags).parameters
    if "modes" in params:
        kwargs["modes"] = h.modes
    flags: pd.DataFrame = authenticity_flags(fixes, h.roster, index, **kwargs)
    return flags


def _hits(
    truth: pd.DataFrame,
    acc: pd.DataFrame,
    kinds: frozenset[str] | None,
    mention: list[str] | None = None,
) -> np.ndarray:
    """For each truth row: is its worker accused (by ``kinds``, or any) over its time?

    With ``mention``, only by a flag whose evidence text contains ``mention[i]``.
    """
    a = acc if kinds is None else acc[acc["kind"].isin(kinds)]
    out = np.zeros(len(truth), dtype=bool)
    if a.empty:
        return out
    by_worker = {w: g for w, g in a.groupby("worker")}
    for i, (w, s, e) in enumerate(
        zip(truth["worker_id"], truth["start"], truth["end"], strict=True)
    ):
        g = by_worker.get(w)
        if g is not None:
            m = (g["start"] <= e) & (g["end"] >= s)
            if mention is not None:
                m &= g["text"].str.contains(mention[i], regex=False)
            out[i] = bool(m.any())
    return out


@dataclass(frozen=True)
class Score:
    """Per-case outcome and the summary table."""

    cases: pd.DataFrame
    table: pd.DataFrame

    def recall(self, kind: str) -> float:
        return float(self.table.loc[kind, "recall"])

    @property
    def fp_rate(self) -> float:
        honest = self.cases[self.cases["honest"]]
        return float(honest["flagged"].mean())


def score(h: Heldout, flags: pd.DataFrame) -> Score:
    """Match ``flags`` to the ground truth of ``h`` (rules in the module docstring)."""
    acc = accused(flags)
    named = acc[~acc["neutral"]]
    cases = h.truth.copy()
    copies = cases[cases["kind"] == "copy"]
    flagged = _hits(cases, acc, None)
    originals = cases["case_id"].isin(copies["source_case"].dropna().astype(int)).to_numpy()
    flagged[originals] = _hits(cases[originals], named, None)
    cases["flagged"] = flagged
    caught = np.zeros(len(cases), dtype=bool)
    for kind in CHEAT_KINDS:
        m = (cases["kind"] == kind).to_numpy()
        caught[m] = _hits(cases[m], named, CAUGHT_BY[kind])
    cases["caught"] = caught
    # Copies: is the original's worker accused by a copy flag over the copy's time?
    as_original = copies.assign(worker_id=copies["other_worker"])
    cases["original_named"] = False
    cases.loc[copies.index, "original_named"] = _hits(as_original, named, ORIGINAL_NAMED_BY)
    # Replays: does the evidence name the replayed patrol ("<worker>@<day of it>")?
    replays = cases[cases["kind"] == "replay"]
    src_start = cases["start"].reindex(replays["source_case"].astype(int)).to_numpy()
    keys = [
        f"{w}@{pd.Timestamp(t):%Y%m%d}"
        for w, t in zip(replays["other_worker"], src_start, strict=True)
    ]
    cases["source_named"] = False
    cases.loc[replays.index, "source_named"] = _hits(replays, acc, CAUGHT_BY["replay"], keys)
    rows = []
    for kind in (*CHEAT_KINDS, "walk", "joint", "ebike"):
        sub = cases[cases["kind"] == kind]
        honest = kind not in CHEAT_KINDS
        rows.append(
            {
                "kind": kind,
                "n": len(sub),
                "caught": int(sub["caught"].sum()) if not honest else np.nan,
                "recall": float(sub["caught"].mean()) if not honest else np.nan,
                "any_flag": int(sub["flagged"].sum()),
                "original_named": int(sub["original_named"].sum()) if kind == "copy" else np.nan,
                "source_named": int(sub["source_named"].sum()) if kind == "replay" else np.nan,
            }
        )
    table = pd.DataFrame(rows).set_index("kind")
    return Score(cases, table)


def variant_table(cases: pd.DataFrame) -> pd.DataFrame:
    """Caught / n per cheat kind and variant (how the cheat was made)."""
    cheats = cases[~cases["honest"]]
    g = cheats.groupby(["kind", "variant"])["caught"]
    return pd.DataFrame({"n": g.size(), "caught": g.sum().astype(int)})


def flag_kinds_by_case(cases: pd.DataFrame, flags: pd.DataFrame) -> pd.Series:
    """For a report: the flag kinds accusing each case's worker over its time."""
    acc = accused(flags)
    out = []
    for w, s, e in zip(cases["worker_id"], cases["start"], cases["end"], strict=True):
        m = (acc["worker"] == w) & (acc["start"] <= e) & (acc["end"] >= s)
        out.append(",".join(sorted(set(acc.loc[m, "kind"]))))
    return pd.Series(out, index=cases.index)
