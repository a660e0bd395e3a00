"""The answer of :meth:`gridgeo.locate.LocateIndex.locate` for many points.

Examples
--------
>>> import numpy as np
>>> result = LocateResult(
...     owner=np.array(["330109001001001", None], dtype=object),
...     owner_index=np.array([3, -1]),
...     on_boundary=np.array([True, False]),
...     chains=np.array([("330109", "330109001", "330109001001", "330109001001001"), ()],
...                     dtype=object),
...     special_grids=np.array([(), ()], dtype=object),
...     nearest_code=np.array([None, None], dtype=object),
...     nearest_distance_m=np.array([np.nan, np.nan]),
...     generation="g1",
... )
>>> result.batch_item(0)["chain"][-1], result.batch_item(1)
('330109001001001', {'owner': None, 'chain': [], 'on_boundary': False})
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class LocateResult:
    """Ownership of each point, in input order (all arrays have one entry per point).

    Attributes
    ----------
    owner : numpy.ndarray of object
        Owner code, or None where no unit covers the point.
    owner_index : numpy.ndarray of int64
        Row of the owner in the units the index was built from, -1 for none.
    on_boundary : numpy.ndarray of bool
        True where the point lies on the owner polygon's boundary (shared or
        outer). False where there is no owner.
    chains : numpy.ndarray of object
        Tuple of codes from the district down to the owner, built from
        ``parent_code`` links; ``()`` where there is no owner. Tuples are
        shared between points with the same owner: do not rely on identity.
    special_grids : numpy.ndarray of object
        Tuple of the codes of all special units covering the point, sorted.
    nearest_code : numpy.ndarray of object
        For uncovered points when ``within_m`` was given: the nearest leaf
        base unit within reach, else None.
    nearest_distance_m : numpy.ndarray of float64
        Its distance in metres, NaN where ``nearest_code`` is None.
    generation : str or None
        The generation the index was built from.
    """

    owner: NDArray[np.object_]
    owner_index: NDArray[np.int64]
    on_boundary: NDArray[np.bool_]
    chains: NDArray[np.object_]
    special_grids: NDArray[np.object_]
    nearest_code: NDArray[np.object_]
    nearest_distance_m: NDArray[np.float64]
    generation: str | None = None

    def __len__(self) -> int:
        return len(self.owner)

    def chain_of(self, i: int) -> list[str]:
        """Chain of point ``i`` as a list of codes (empty if uncovered)."""
        return list(self.chains[i])

    def batch_item(self, i: int) -> dict[str, Any]:
        """Point ``i`` as an item of the batch answer: ``{"owner", "chain", "on_boundary"}``."""
        return {
            "owner": self.owner[i],
            "chain": list(self.chains[i]),
            "on_boundary": bool(self.on_boundary[i]),
        }

    def batch_items(self) -> list[dict[str, Any]]:
        """All points as batch answer items, in input order."""
        return [
            {"owner": owner, "chain": list(chain), "on_boundary": on_boundary}
            for owner, chain, on_boundary in zip(
                self.owner.tolist(),
                self.chains.tolist(),
                self.on_boundary.tolist(),
                strict=True,
            )
        ]

    def batch_json(self) -> dict[str, Any]:
        """The ``POST /v1/locate`` body: ``{"generation", "results": [...]}``."""
        return {"generation": self.generation, "results": self.batch_items()}
