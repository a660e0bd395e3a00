"""A two-level lon/lat cell cache that answers most lookups without geometry tests.

How it works
------------
A regular grid of fine cells (``cell_size_m`` on a side, in degrees of
longitude and latitude) covers the bounding box of all units, padded by one
block. Fine cells are grouped in square *blocks* of ``block x block`` cells.

1. Every boundary segment of every unit (all levels, special grids included)
   is cut into pieces no longer than one cell, and every fine cell whose box,
   grown by a margin of ``MARGIN`` cell sizes, may touch a piece is *marked*.
   This is conservative: a cell that is not marked has no boundary within the
   margin of it.
2. A block without marked cells is *pure* as a whole; a block with marked
   cells is stored cell by cell.
3. Unmarked blocks, and unmarked cells inside stored blocks, are grouped into
   4-connected components (:func:`scipy.ndimage.label`). No boundary crosses
   a component, so every point of it has the same candidate set and lies in
   the interior of every candidate. The answer at one representative point
   (the centre of a cell of the component) is computed once by the exact
   path and stored for the whole component as a *class* id.
4. A stored block keeps one byte per cell: 0 for a marked cell, else a
   1-based index into the block's *palette* of class ids (a stored block has
   at least one marked cell, so at most 255 components: a byte suffices).
5. A lookup maps a point to its block and, for stored blocks, its cell, with
   integer arithmetic; marked cells answer :data:`MIXED` and the caller uses
   the exact path for those points.

Because a cached point is never within the margin of a boundary, its answer
is the exact answer with ``on_boundary`` false. The margin (a thousandth of a
cell, about 4 mm for 4 m cells) absorbs floating-point rounding in computing
cell indices, so the cache never disagrees with the exact path. Points
outside the padded bounding box are uncovered (class ``0``).

Examples
--------
>>> import numpy as np
>>> from shapely import box
>>> geoms = np.array([box(120.0, 30.0, 120.01, 30.01)], dtype=object)
>>> def classes(lon, lat):  # 1 inside the square, 0 outside
...     return ((lon > 120.0) & (lon < 120.01) & (lat > 30.0) & (lat < 30.01)).astype(np.int64)
>>> grid = build_cell_grid(geoms, classes, cell_size_m=10.0)
>>> grid.lookup(np.array([120.005, 120.02, 120.0]), np.array([30.005, 30.005, 30.005])).tolist()
[1, 0, -1]
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import shapely
from numpy.typing import NDArray

MIXED: Final = -1
"""Lookup answer for a point whose cell touches a boundary: use the exact path."""

MARGIN: Final = 1e-3
"""Safety margin around each cell, in cell sizes."""

METRES_PER_DEGREE: Final = 111_320.0
"""Approximate length of one degree of latitude (used only to size cells)."""

_PIECES_PER_CHUNK: Final = 1 << 18
_CELLS_PER_CHUNK: Final = 1 << 21

Evaluate = Callable[[NDArray[np.float64], NDArray[np.float64]], NDArray[np.int64]]
"""Callback giving the class id (>= 0) of representative points, class 0 = uncovered."""


@dataclass(frozen=True)
class CellGrid:
    """The cell cache; build it with :func:`build_cell_grid`.

    Attributes
    ----------
    x0, y0 : float
        Longitude and latitude of the grid's south-west corner.
    dx, dy : float
        Fine cell size in degrees of longitude and latitude.
    shift : int
        ``block == 1 << shift`` fine cells per block side.
    nx, ny : int
        Number of blocks west-east and south-north.
    coarse : numpy.ndarray of int32, shape (ny * nx,)
        Per block: the class id if the whole block is pure, else
        ``-(stored block number + 1)``.
    blocks : numpy.ndarray of uint8, shape (n_stored * block * block,)
        Per fine cell of stored blocks: 0 for a cell that touches a boundary,
        else ``k``, meaning class ``palette[palette_start[block] + k - 1]``.
    palette_start : numpy.ndarray of int32, shape (n_stored,)
        Offset of each stored block's palette in ``palette``.
    palette : numpy.ndarray of int32
        Class ids of all stored blocks' palettes, concatenated.
    """

    x0: float
    y0: float
    dx: float
    dy: float
    shift: int
    nx: int
    ny: int
    coarse: NDArray[np.int32]
    blocks: NDArray[np.uint8]
    palette_start: NDArray[np.int32]
    palette: NDArray[np.int32]

    @property
    def block(self) -> int:
        """Fine cells per block side."""
        return 1 << self.shift

    @property
    def nbytes(self) -> int:
        """Memory held by the cache arrays, in bytes."""
        return int(
            self.coarse.nbytes
            + self.blocks.nbytes
            + self.palette_start.nbytes
            + self.palette.nbytes
        )

    @property
    def n_stored_blocks(self) -> int:
        """Number of blocks stored cell by cell."""
        return len(self.blocks) >> (2 * self.shift)

    def lookup_one(self, lon: float, lat: float) -> int:
        """:meth:`lookup` for one point, in plain Python arithmetic (same answers)."""
        s = self.shift
        iu = math.floor((lon - self.x0) / self.dx)
        iv = math.floor((lat - self.y0) / self.dy)
        if not (0 <= iu < self.nx << s and 0 <= iv < self.ny << s):
            return 0
        found = int(self.coarse[(iv >> s) * self.nx + (iu >> s)])
        if found >= 0:
            return found
        mask = (1 << s) - 1
        block = -found - 1
        value = int(self.blocks[(block << (2 * s)) + ((iv & mask) << s) + (iu & mask)])
        if value == 0:
            return MIXED
        return int(self.palette[int(self.palette_start[block]) + value - 1])

    def lookup(self, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.int64]:
        """Class id of each point, or :data:`MIXED` where the exact path must decide.

        Parameters
        ----------
        lon, lat : numpy.ndarray of float64
            Finite coordinates, one-dimensional, same length.

        Returns
        -------
        numpy.ndarray of int64
        """
        s = self.shift
        mask = (1 << s) - 1
        fine_nx, fine_ny = self.nx << s, self.ny << s
        iu = np.floor((lon - self.x0) / self.dx)
        iv = np.floor((lat - self.y0) / self.dy)
        inside = (iu >= 0) & (iu < fine_nx) & (iv >= 0) & (iv < fine_ny)
        all_inside = bool(inside.all())
        if not all_inside:
            iu[~inside] = 0
            iv[~inside] = 0
        ju = iu.astype(np.int64)
        jv = iv.astype(np.int64)
        found = self.coarse[(jv >> s) * self.nx + (ju >> s)].astype(np.int64)
        stored = found < 0
        if stored.any():
            block = -found[stored] - 1
            cell = (block << (2 * s)) + ((jv[stored] & mask) << s) + (ju[stored] & mask)
            local = self.blocks[cell].astype(np.int64)
            values = self.palette[self.palette_start[block] + local - 1].astype(np.int64)
            values[local == 0] = MIXED
            found[stored] = values
        if not all_inside:
            found[~inside] = 0
        return found


def _segments(geoms: NDArray[np.object_]) -> NDArray[np.float64]:
    """Distinct boundary segments of all polygons as rows ``x1, y1, x2, y2``."""
    rings = shapely.get_rings(shapely.get_parts(geoms))
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[1:] == ring[:-1]
    seg = np.empty((int(same.sum()), 4), dtype=np.float64)
    seg[:, :2] = coords[:-1][same]
    seg[:, 2:] = coords[1:][same]
    # Orient each segment canonically so edges shared by neighbours and by
    # several levels deduplicate.
    swap = (seg[:, 0] > seg[:, 2]) | ((seg[:, 0] == seg[:, 2]) & (seg[:, 1] > seg[:, 3]))
    seg[swap] = seg[swap][:, [2, 3, 0, 1]]
    rows = np.ascontiguousarray(seg).view(np.dtype((np.void, 32))).ravel()
    _, keep = np.unique(rows, return_index=True)
    return seg[np.sort(keep)]


def _marked_cells(
    seg_uv: NDArray[np.float64], fine_nx: int, fine_ny: int, margin: float = MARGIN
) -> NDArray[np.int64]:
    """Flat indices ``iv * fine_nx + iu`` of fine cells that may touch a segment.

    Cells touched by several pieces appear several times. ``margin`` (in
    cell sizes, at most 0.5) grows every piece.
    """
    du = seg_uv[:, 2] - seg_uv[:, 0]
    dv = seg_uv[:, 3] - seg_uv[:, 1]
    n_pieces = np.maximum(1, np.ceil(np.maximum(np.abs(du), np.abs(dv)))).astype(np.int64)
    ends = np.cumsum(n_pieces)
    found: list[NDArray[np.int64]] = []
    start_seg = 0
    while start_seg < len(seg_uv):
        base = ends[start_seg - 1] if start_seg else 0
        stop_seg = int(np.searchsorted(ends, base + _PIECES_PER_CHUNK, side="right"))
        stop_seg = max(stop_seg, start_seg + 1)
        sl = slice(start_seg, stop_seg)
        counts = n_pieces[sl]
        seg_of = np.repeat(np.arange(start_seg, stop_seg), counts)
        first = np.cumsum(counts) - counts
        j = np.arange(len(seg_of)) - np.repeat(first, counts)
        m = n_pieces[seg_of].astype(np.float64)
        t0, t1 = j / m, (j + 1) / m
        u0 = seg_uv[seg_of, 0] + du[seg_of] * t0
        u1 = seg_uv[seg_of, 0] + du[seg_of] * t1
        v0 = seg_uv[seg_of, 1] + dv[seg_of] * t0
        v1 = seg_uv[seg_of, 1] + dv[seg_of] * t1
        lo_u = np.floor(np.minimum(u0, u1) - margin).astype(np.int64)
        hi_u = np.floor(np.maximum(u0, u1) + margin).astype(np.int64)
        lo_v = np.floor(np.minimum(v0, v1) - margin).astype(np.int64)
        hi_v = np.floor(np.maximum(v0, v1) + margin).astype(np.int64)
        for a in range(3):
            for b in range(3):
                cu, cv = lo_u + a, lo_v + b
                ok = (cu <= hi_u) & (cv <= hi_v)
                ok &= (cu >= 0) & (cu < fine_nx) & (cv >= 0) & (cv < fine_ny)
                found.append(cv[ok] * fine_nx + cu[ok])
        start_seg = stop_seg
    if not found:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate(found)


def _label(free: NDArray[np.bool_]) -> tuple[NDArray[np.int32], NDArray[np.int64]]:
    """4-connected components of ``free`` (2-D, or 3-D stacked 2-D planes).

    Returns the label array (0 where not free) and the flat index of one cell
    of each label 1..n.
    """
    from scipy import ndimage

    if free.ndim == 2:
        structure = ndimage.generate_binary_structure(2, 1)
    else:
        structure = np.zeros((3, 3, 3), dtype=bool)
        structure[1] = ndimage.generate_binary_structure(2, 1)
    labels, n_labels = ndimage.label(free, structure=structure)
    flat = labels.ravel()
    # Any cell of a component represents it: with repeated indices one of the
    # writes wins, which is all that is needed (label 0 is discarded).
    reps = np.zeros(n_labels + 1, dtype=np.int64)
    reps[flat] = np.arange(len(flat), dtype=np.int64)
    return labels, reps[1:]


def _palettes(
    labels: NDArray[np.int32],
    label_block: NDArray[np.int64],
    label_classes: NDArray[np.int64],
    nb: int,
) -> tuple[NDArray[np.uint8], NDArray[np.int32], NDArray[np.int32]]:
    """Encode the stored blocks' cell classes as one byte per cell plus palettes.

    ``labels`` are the per-cell component labels (0 for marked cells) of the
    stored blocks, flattened; component ``k`` lies in block ``label_block[k - 1]``
    and has class ``label_classes[k - 1]``.
    """
    # Distinct (block, class) pairs, sorted by block then class, are the palettes.
    stride = int(label_classes.max(initial=0)) + 1
    unique_key, inverse = np.unique(label_block * stride + label_classes, return_inverse=True)
    palette = (unique_key % stride).astype(np.int32)
    palette_start = np.searchsorted(unique_key // stride, np.arange(nb)).astype(np.int32)
    # 1-based position of each component's class in its block's palette (at
    # most 255; anything beyond would be stored as marked, which is safe).
    local = inverse - palette_start[label_block] + 1
    local[local > np.iinfo(np.uint8).max] = 0
    local_of_label = np.concatenate([[0], local]).astype(np.uint8)
    return local_of_label[labels], palette_start, palette


def build_cell_grid(
    geoms: NDArray[np.object_],
    evaluate: Evaluate,
    *,
    cell_size_m: float = 4.0,
    block_shift: int = 4,
    max_blocks: int = 4_000_000,
    max_stored_cells: int = 40_000_000,
    margin_m: float = 0.0,
) -> CellGrid | None:
    """Build the cell cache over ``geoms``.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely geometries
        All unit polygons, longitude/latitude.
    evaluate : callable
        ``evaluate(lon, lat)`` returns the class id of points that are not on
        any boundary (0 for uncovered points).
    cell_size_m : float, default 4.0
        Target side of a fine cell in metres. Points within about one cell of
        a boundary go to the exact path, so smaller cells mean faster lookups
        and more memory.
    block_shift : int, default 4
        Blocks have ``2**block_shift`` fine cells per side.
    max_blocks, max_stored_cells : int
        Memory caps: the cell size is doubled until both hold.
    margin_m : float
        Extra distance in metres around every boundary whose cells are
        marked (the locate tolerance: a point that close to a boundary must
        take the exact path). The margin is at least :data:`MARGIN` cells
        and at most half a cell.

    Returns
    -------
    CellGrid or None
        None when ``geoms`` is empty.
    """
    if len(geoms) == 0:
        return None
    minx, miny, maxx, maxy = shapely.total_bounds(geoms).tolist()
    lat_mid = 0.5 * (miny + maxy)
    coslat = max(np.cos(np.radians(lat_mid)), 0.01)
    segments = _segments(geoms)
    block = 1 << block_shift
    size = float(cell_size_m)
    while True:
        dy = size / METRES_PER_DEGREE
        dx = size / (METRES_PER_DEGREE * coslat)
        x0, y0 = minx - block * dx, miny - block * dy
        nx = int(np.ceil((maxx - x0) / (block * dx))) + 1
        ny = int(np.ceil((maxy - y0) / (block * dy))) + 1
        if nx * ny > max_blocks:
            size *= max(2.0, float(np.sqrt(nx * ny / max_blocks)))
            continue
        fine_nx, fine_ny = nx * block, ny * block
        seg_uv = np.empty_like(segments)
        seg_uv[:, 0::2] = (segments[:, 0::2] - x0) / dx
        seg_uv[:, 1::2] = (segments[:, 1::2] - y0) / dy
        margin = min(0.5, max(MARGIN, 1.5 * margin_m / size))
        marked = _marked_cells(seg_uv, fine_nx, fine_ny, margin)
        block_of_marked = ((marked // fine_nx) >> block_shift) * nx + (
            (marked % fine_nx) >> block_shift
        )
        is_stored = np.zeros(nx * ny, dtype=bool)
        is_stored[block_of_marked] = True
        stored = np.flatnonzero(is_stored)
        if len(stored) * block * block > max_stored_cells:
            size *= 2.0
            continue
        break

    # Pure blocks: components of unmarked blocks.
    block_labels, block_reps = _label(~is_stored.reshape(ny, nx))
    rep_lon = x0 + (block_reps % nx + 0.5) * block * dx
    rep_lat = y0 + (block_reps // nx + 0.5) * block * dy
    block_classes = np.asarray(evaluate(rep_lon, rep_lat), dtype=np.int64)
    coarse = np.empty(nx * ny, dtype=np.int32)
    flat_block_labels = block_labels.ravel()
    free = flat_block_labels > 0
    coarse[free] = block_classes[flat_block_labels[free] - 1]
    nb = len(stored)
    coarse[stored] = -(np.arange(nb, dtype=np.int32) + 1)
    del block_labels, flat_block_labels, free

    # Stored blocks: components of unmarked cells inside each block, a chunk
    # of blocks at a time to bound temporary memory.
    cells_per_block = block * block
    position = np.zeros(nx * ny, dtype=np.int64)
    position[stored] = np.arange(nb)
    local = (((marked // fine_nx) & (block - 1)) << block_shift) + (marked % fine_nx & (block - 1))
    free_cells = np.ones(nb * cells_per_block, dtype=bool)
    free_cells[position[block_of_marked] * cells_per_block + local] = False
    del marked, block_of_marked, local, position
    blocks = np.empty(nb * cells_per_block, dtype=np.uint8)
    palette_start = np.empty(nb, dtype=np.int32)
    palettes: list[NDArray[np.int32]] = []
    n_palette = 0
    step = max(1, _CELLS_PER_CHUNK // cells_per_block)
    for first in range(0, nb, step):
        last = min(nb, first + step)
        cells = slice(first * cells_per_block, last * cells_per_block)
        labels, reps = _label(free_cells[cells].reshape(last - first, block, block))
        rep_chunk_block = reps // cells_per_block
        rep_block = stored[first + rep_chunk_block]
        rep_local = reps % cells_per_block
        rep_u = ((rep_block % nx) << block_shift) + (rep_local & (block - 1))
        rep_v = ((rep_block // nx) << block_shift) + (rep_local >> block_shift)
        classes = np.asarray(
            evaluate(x0 + (rep_u + 0.5) * dx, y0 + (rep_v + 0.5) * dy), dtype=np.int64
        )
        chunk_blocks, chunk_start, chunk_palette = _palettes(
            labels.ravel(), rep_chunk_block, classes, last - first
        )
        blocks[cells] = chunk_blocks
        palette_start[first:last] = chunk_start + n_palette
        palettes.append(chunk_palette)
        n_palette += len(chunk_palette)
    palette = np.concatenate(palettes) if palettes else np.zeros(0, dtype=np.int32)
    return CellGrid(
        x0=x0,
        y0=y0,
        dx=dx,
        dy=dy,
        shift=block_shift,
        nx=nx,
        ny=ny,
        coarse=coarse,
        blocks=blocks,
        palette_start=palette_start,
        palette=palette,
    )
