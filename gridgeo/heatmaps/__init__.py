"""Hot spot, emerging hot spot and coverage analytics, and their folium maps.

Pipeline: events → counts per H3 cell or grid (:mod:`.aggregate`) →
neighbours (:mod:`.weights`) → Getis-Ord Gi* with ArcGIS bins (:mod:`.gistar`,
Benjamini–Hochberg in :mod:`.fdr`) → emerging hot spots over time slices
(:mod:`.emerging`, Mann–Kendall in :mod:`.mannkendall`); patrol coverage gaps
(:mod:`.coverage`); maps (:mod:`.maps`) rendered to offline HTML
(:mod:`.assets`).

Examples
--------
>>> import numpy as np, shapely
>>> cells = study_cells(shapely.box(120.26, 30.16, 120.28, 30.18), 9)
>>> rng = np.random.default_rng(0)
>>> lon, lat = 120.27 + rng.normal(0, 0.002, 200), 30.17 + rng.normal(0, 0.002, 200)
>>> counts = count_by_h3(lon, lat, 9, cells=cells)
>>> res = hotspots(counts, h3_neighbours(cells), permutations=99, seed=0)
>>> len(cells), res.to_frame()["gi_bin"].value_counts().sort_index().to_dict()
(68, {0: 60, 1: 2, 2: 1, 3: 5})
"""

from gridgeo.heatmaps.aggregate import (
    apportion_population,
    count_by_grid,
    count_by_h3,
    count_by_slice,
    h3_cells,
    h3_geometries,
    rates_per_1000,
    study_cells,
)
from gridgeo.heatmaps.assets import STATIC_DIR, render_html
from gridgeo.heatmaps.coverage import coverage_gaps
from gridgeo.heatmaps.emerging import (
    CATEGORIES,
    EmergingResult,
    classify_emerging,
    emerging_hotspots,
)
from gridgeo.heatmaps.fdr import benjamini_hochberg
from gridgeo.heatmaps.gistar import HotspotResult, gi_star, hotspots, significance_bins
from gridgeo.heatmaps.mannkendall import MannKendallResult, mann_kendall
from gridgeo.heatmaps.maps import coverage_map, emerging_map, grid_map, hotspot_map
from gridgeo.heatmaps.weights import (
    Neighbours,
    contiguity_neighbours,
    distance_band_neighbours,
    h3_neighbours,
)

__all__ = [
    "CATEGORIES",
    "STATIC_DIR",
    "EmergingResult",
    "HotspotResult",
    "MannKendallResult",
    "Neighbours",
    "apportion_population",
    "benjamini_hochberg",
    "classify_emerging",
    "contiguity_neighbours",
    "count_by_grid",
    "count_by_h3",
    "count_by_slice",
    "coverage_gaps",
    "coverage_map",
    "distance_band_neighbours",
    "emerging_hotspots",
    "emerging_map",
    "gi_star",
    "grid_map",
    "h3_cells",
    "h3_geometries",
    "h3_neighbours",
    "hotspot_map",
    "hotspots",
    "mann_kendall",
    "rates_per_1000",
    "render_html",
    "significance_bins",
    "study_cells",
]
