"""Hand-placed layout of the sample district: where each street lies and how big it is.

The official lists give codes and names but no geometry below the district
outline. For plausible maps, each of Xiaoshan's 27 street/township units gets
an *anchor* (its approximate centre, lon/lat in EPSG:4490) and a target area
(approximate, in km²; scaled to the outline's area when used). These are rough
figures chosen by the gridgeo authors for a sample, not survey data.

The urban core (城厢, 北干, 蜀山, 新塘 and the 商业城 around lon 120.26–120.30,
lat 30.15–30.19) is small and dense; the towns (镇) in the south and east are
large and mostly rural.

Examples
--------
>>> STREET_LAYOUT["330109001"].area_km2
15.0
>>> is_town("330109113"), is_town("330109001")
(True, False)
>>> is_village("330109003214"), is_village("330109003001")
(True, False)
"""

from __future__ import annotations

from typing import NamedTuple

PROJECTED_EPSG = 4549
"""CGCS2000 / 3-degree Gauss–Krüger CM 120°E: metres for Xiaoshan."""

DISTRICT_CENTRE = (120.275, 30.170)
"""Approximate centre of the urban core (lon, lat)."""


class StreetAnchor(NamedTuple):
    """Approximate centre (lon, lat) and area of one street/township."""

    lon: float
    lat: float
    area_km2: float


STREET_LAYOUT: dict[str, StreetAnchor] = {
    "330109001": StreetAnchor(120.265, 30.160, 15.0),  # 城厢街道
    "330109002": StreetAnchor(120.278, 30.183, 22.0),  # 北干街道
    "330109003": StreetAnchor(120.245, 30.135, 36.0),  # 蜀山街道
    "330109004": StreetAnchor(120.305, 30.165, 28.0),  # 新塘街道
    "330109005": StreetAnchor(120.470, 30.220, 28.0),  # 靖江街道
    "330109006": StreetAnchor(120.440, 30.255, 43.0),  # 南阳街道
    "330109012": StreetAnchor(120.195, 30.135, 27.0),  # 闻堰街道
    "330109013": StreetAnchor(120.300, 30.225, 27.0),  # 宁围街道
    "330109014": StreetAnchor(120.345, 30.195, 40.0),  # 新街街道
    "330109015": StreetAnchor(120.250, 30.210, 16.0),  # 盈丰街道
    "330109100": StreetAnchor(120.100, 29.885, 61.0),  # 楼塔镇
    "330109101": StreetAnchor(120.170, 29.945, 97.0),  # 河上镇
    "330109102": StreetAnchor(120.215, 30.005, 107.0),  # 戴村镇
    "330109103": StreetAnchor(120.285, 29.945, 70.0),  # 浦阳镇
    "330109104": StreetAnchor(120.330, 29.990, 92.0),  # 进化镇
    "330109105": StreetAnchor(120.270, 30.060, 73.0),  # 临浦镇
    "330109106": StreetAnchor(120.200, 30.085, 72.0),  # 义桥镇
    "330109107": StreetAnchor(120.285, 30.105, 57.0),  # 所前镇
    "330109108": StreetAnchor(120.385, 30.175, 35.0),  # 衙前镇
    "330109113": StreetAnchor(120.460, 30.185, 128.0),  # 瓜沥镇
    "330109115": StreetAnchor(120.565, 30.195, 53.0),  # 益农镇
    "330109120": StreetAnchor(120.525, 30.240, 49.0),  # 党湾镇
    "330109401": StreetAnchor(120.325, 30.205, 14.0),  # 萧山经济技术开发区
    "330109403": StreetAnchor(120.288, 30.158, 3.0),  # 萧山商业城
    "330109501": StreetAnchor(120.620, 30.235, 45.0),  # 围垦区
    "330109503": StreetAnchor(120.385, 30.205, 8.0),  # 红山农场
    "330109505": StreetAnchor(120.265, 30.238, 12.0),  # 萧山钱江世纪城
}
"""Anchor and approximate area of every street of district 330109."""

CORE_STREETS = frozenset({"330109001", "330109002", "330109003", "330109004", "330109403"})
"""The dense urban core around the district centre."""


def is_town(street_code: str) -> bool:
    """Whether a 9-digit street code is a town or township (township digits 100–399)."""
    return 100 <= int(street_code[6:9]) <= 399


def is_village(community_code: str) -> bool:
    """Whether a 12-digit community code is a village committee (village digits 200–399)."""
    return 200 <= int(community_code[9:12]) <= 399
