"""Print the held-out tables: ``python -m tests.tracks.heldout.report``.

``GRIDGEO_HELDOUT_SEED=<int>`` picks another seed (sweeps use seed + 1, + 2).

The held-out month scored with the product's flags, then the replay sweep
(fresh noise 0–10 m) and the copy sweep (offsets 0–30 m). The tests assert
on the same figures; this prints them in one go for a closing note.
"""

from __future__ import annotations

import os

import pandas as pd

from tests.tracks.heldout import scenario
from tests.tracks.heldout.evaluate import run_product, score, variant_table

REPLAY_NOISE_M = (0.0, 3.0, 5.0, 8.0, 10.0)
COPY_OFFSETS_M = (0.0, 2.5, 5.0, 10.0, 20.0, 30.0)


def main() -> None:
    seed = int(os.environ.get("GRIDGEO_HELDOUT_SEED", scenario.SEED))
    h = scenario.build(seed)
    s = score(h, run_product(h))
    honest = s.cases[s.cases["honest"]]
    print(f"held-out month (seed {h.seed}), product flags:")
    print(s.table.to_string())
    print(
        f"false positives: {int(honest['flagged'].sum())} of {len(honest)} honest patrols "
        f"({s.fp_rate:.2%})"
    )
    v = variant_table(s.cases)
    print("\nby variant (replay: own/colleague, white/ar1 noise, drop/resample):")
    print(v[v.index.get_level_values("kind").isin(["replay", "spoofing", "stationary", "vehicle"])])
    rows = []
    for noise in REPLAY_NOISE_M:
        r = score(hs := scenario.replay_sweep(noise, seed=seed + 1), run_product(hs)).cases
        rep = r[r["kind"] == "replay"]
        rows.append(
            {
                "fresh noise m": noise,
                "caught": f"{int(rep['caught'].sum())}/{len(rep)}",
                "recall": round(float(rep["caught"].mean()), 3),
                "honest flagged": _honest_flagged(r),
            }
        )
    print("\nreplay sweep:\n" + pd.DataFrame(rows).to_string(index=False))
    rows = []
    for offset in COPY_OFFSETS_M:
        r = score(hs := scenario.copy_sweep(offset, seed=seed + 2), run_product(hs)).cases
        cp = r[r["kind"] == "copy"]
        rows.append(
            {
                "offset m": offset,
                "copier named": f"{int(cp['caught'].sum())}/{len(cp)}",
                "recall": round(float(cp["caught"].mean()), 3),
                "original named": int(cp["original_named"].sum()),
                "honest flagged": _honest_flagged(r),
            }
        )
    print("\ncopy sweep:\n" + pd.DataFrame(rows).to_string(index=False))


def _honest_flagged(cases: pd.DataFrame) -> str:
    honest = cases[cases["honest"]]
    return f"{int(honest['flagged'].sum())}/{len(honest)}"


if __name__ == "__main__":
    main()
