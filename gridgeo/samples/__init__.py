"""The sample city: Xiaoshan District (萧山区, 330109) with synthetic grids, people and activity.

``gridgeo samples build`` (:func:`build_sample_city`) generates, from the
official inputs shipped in ``data/samples/reference``:

- the boundary hierarchy district → 27 streets → 585 communities → about
  1,500 grids → micro-grids, plus about 100 special grids
  (:mod:`gridgeo.samples.city`, built on :mod:`gridgeo.samples.tessellation`);
- the grid-worker roster (:mod:`gridgeo.samples.roster`);
- a year of events with planted hotspots (:mod:`gridgeo.samples.events`,
  category weights and phrases in :mod:`gridgeo.samples.taxonomy`, categories
  and working calendar from :mod:`gridgeo.events`);
- a month of patrol tracks with planted gaps and fakes
  (:mod:`gridgeo.samples.tracks`);
- content hashes that prove a rebuild identical (:mod:`gridgeo.samples.hashing`).

The committed result lives in ``data/samples`` (see its README).

The names below are imported lazily, so importing one submodule does not load
the others.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "BuildSummary": "gridgeo.samples.build",
    "DEFAULT_SEED": "gridgeo.samples.build",
    "build_sample_city": "gridgeo.samples.build",
    "generate_units": "gridgeo.samples.city",
    "UNIT_COLUMNS": "gridgeo.samples.city",
    "generate_roster": "gridgeo.samples.roster",
    "with_worker_counts": "gridgeo.samples.roster",
    "load_reference": "gridgeo.samples.reference",
    "Reference": "gridgeo.samples.reference",
    "SAMPLES_DIR": "gridgeo.samples.reference",
    "content_hash": "gridgeo.samples.hashing",
    "directory_content_hashes": "gridgeo.samples.hashing",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'gridgeo.samples' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
