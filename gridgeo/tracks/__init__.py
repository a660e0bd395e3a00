"""GPS patrol tracks: reading, validation, cleaning, patrols, grids, coverage, authenticity.

DESIGN section 7. Pure functions over pandas tables; persistence, HTTP and
the command line build on them. The steps, in the order the pipeline
(:func:`~gridgeo.tracks.pipeline.analyse_tracks`) runs them:

1. :func:`~gridgeo.tracks.io.read_fixes` — CSV, GPX, GeoJSON or Parquet to the
   normalised columns ``worker_id, t (UTC), lon, lat, crs, accuracy_m``.
2. :func:`~gridgeo.tracks.validate.validate_fixes` — row-level rejects with
   reasons; **good rows are kept, bad rows reported** (``all_or_nothing=True``
   refuses the whole batch instead).
3. :func:`~gridgeo.tracks.clean.clean_fixes` — to WGS84; duplicate times,
   poor accuracy and single-fix speed spikes dropped (kept aside with reasons).
4. :func:`~gridgeo.tracks.patrols.split_patrols` — a new patrol after a gap of
   more than 15 minutes; ``patrol_key = "<worker>@<UTC start>"``.
5. :func:`~gridgeo.tracks.join.join_to_grids` — owner unit, grid and base grid
   of every fix via the locate index; time and distance per patrol and grid.
6. :func:`~gridgeo.tracks.coverage.grid_coverage` (and ``worker_coverage``,
   ``unvisited_grids``) — H3 coverage, visits, revisit intervals, gaps.
7. :func:`~gridgeo.tracks.authenticity.authenticity_flags` — teleport,
   too_regular, no_noise, replay, copy, spoofing, vehicle, stationary, outside
   (the newer detectors in :mod:`gridgeo.tracks.detectors`). The teleport check also
   sees the fixes step 3 dropped as spikes or for poor accuracy.
"""

from gridgeo.tracks.authenticity import (
    FLAG_COLUMNS,
    FLAG_KINDS,
    Thresholds,
    authenticity_flags,
    detect_no_noise,
    detect_outside,
    detect_replays,
    detect_stationary,
    detect_teleports,
    detect_too_regular,
)
from gridgeo.tracks.clean import DROP_REASONS, CleanResult, clean_fixes
from gridgeo.tracks.coverage import (
    COVERAGE_COLUMNS,
    WORKER_COVERAGE_COLUMNS,
    grid_coverage,
    unit_cells,
    unvisited_grids,
    worker_coverage,
)
from gridgeo.tracks.io import FIX_COLUMNS, normalise_fixes, read_fixes
from gridgeo.tracks.join import (
    GRID_TIME_COLUMNS,
    JOIN_COLUMNS,
    JoinResult,
    assignment_areas,
    inside_assigned,
    join_to_grids,
)
from gridgeo.tracks.patrols import patrol_summary, split_patrols
from gridgeo.tracks.pipeline import TrackAnalysis, analyse_tracks, build_indexes
from gridgeo.tracks.validate import REJECT_COLUMNS, as_wgs84, validate_fixes

__all__ = [
    "COVERAGE_COLUMNS",
    "DROP_REASONS",
    "FIX_COLUMNS",
    "FLAG_COLUMNS",
    "FLAG_KINDS",
    "GRID_TIME_COLUMNS",
    "JOIN_COLUMNS",
    "REJECT_COLUMNS",
    "WORKER_COVERAGE_COLUMNS",
    "CleanResult",
    "JoinResult",
    "Thresholds",
    "TrackAnalysis",
    "analyse_tracks",
    "as_wgs84",
    "assignment_areas",
    "authenticity_flags",
    "build_indexes",
    "clean_fixes",
    "detect_no_noise",
    "detect_outside",
    "detect_replays",
    "detect_stationary",
    "detect_teleports",
    "detect_too_regular",
    "grid_coverage",
    "inside_assigned",
    "join_to_grids",
    "normalise_fixes",
    "patrol_summary",
    "read_fixes",
    "split_patrols",
    "unit_cells",
    "unvisited_grids",
    "validate_fixes",
    "worker_coverage",
]
