"""Independent test data, edit strategies and oracle for the planner workflow (issue 13).

Written without reading the validator, the diff, the redraw operations or the
sample-city generator: the district here is built by another method (seeded
Voronoi faces, region growing on their adjacency graph) from another real
outline, and the oracle recomputes diffs with plain geopandas overlay + sjoin.
"""
