"""Simulated movement from spoofing apps (kind ``spoofing``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from gridgeo.tracks.detectors._patrols import PatrolArrays

if TYPE_CHECKING:
    from gridgeo.tracks.authenticity import Thresholds

__all__ = ["spoofing_records"]


def spoofing_records(fixes: pd.DataFrame, pa: PatrolArrays, th: Thresholds) -> list[dict[str, Any]]:
    """Spoofing flag records (module docstring)."""
    return []
