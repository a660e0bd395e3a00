"""What the sample city adds to the event taxonomy: frequencies, report phrases, calendar.

The categories themselves — codes, level-1/level-2 names, time limits and
departments — are those of :mod:`gridgeo.events.taxonomy`. This module only
holds what the generator of :mod:`gridgeo.samples.events` needs on top:

- :data:`PROFILES`: for every category code, its relative frequency among
  background events of the sample city (``weight``) and a few short report
  texts (``phrases``) for generated descriptions;
- :data:`SAMPLE_CALENDAR`: the working calendar sample due times and stage
  delays count in, :class:`~gridgeo.events.calendar.WorkingCalendar` with its
  defaults — Monday to Friday, 08:30–12:00 and 13:30–17:30 China Standard
  Time, **no** public holidays or make-up days (unlike
  :data:`~gridgeo.events.calendar.DEFAULT_CALENDAR`), so the committed sample
  data do not depend on holiday lists.

Examples
--------
>>> profile("S0101").phrases
('路边暴露垃圾', '绿化带内垃圾')
>>> weights(["S0101", "B0403"]).tolist()
[9.0, 0.5]
>>> import pandas as pd
>>> start = pd.Timestamp("2025-03-07 16:30", tz="Asia/Shanghai")  # a Friday
>>> SAMPLE_CALENDAR.add_working_hours(start, 2)
Timestamp('2025-03-10 09:30:00+0800', tz='Asia/Shanghai')
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from gridgeo.errors import NotFound
from gridgeo.events.calendar import WorkingCalendar
from gridgeo.events.taxonomy import CATEGORIES

__all__ = ["PROFILES", "SAMPLE_CALENDAR", "SampleProfile", "profile", "weights"]

SAMPLE_CALENDAR: Final[WorkingCalendar] = WorkingCalendar()
"""Monday–Friday 08:30–12:00 and 13:30–17:30, Asia/Shanghai, without holidays."""


@dataclass(frozen=True, slots=True)
class SampleProfile:
    """Sample-city attributes of one level-2 category.

    Attributes
    ----------
    weight : float
        Relative frequency among background events of the sample city.
    phrases : tuple of str
        Short report texts used for generated descriptions.
    """

    weight: float
    phrases: tuple[str, ...]


def _p(weight: float, *phrases: str) -> SampleProfile:
    return SampleProfile(weight, phrases)


PROFILES: Final[dict[str, SampleProfile]] = {
    # 部件 (components)
    "B0101": _p(1.2, "上水井盖破损", "上水井盖缺失"),
    "B0102": _p(1.5, "污水井盖破损", "污水井盖松动异响"),
    "B0103": _p(2.0, "路灯不亮", "路灯灯杆倾斜"),
    "B0104": _p(0.6, "消防栓漏水", "消防栓被遮挡"),
    "B0201": _p(0.5, "信号灯故障", "信号灯不亮"),
    "B0202": _p(1.0, "交通护栏倒伏", "交通护栏破损"),
    "B0203": _p(0.6, "公交站亭破损", "站牌污损"),
    "B0301": _p(0.8, "公厕设施损坏", "公厕卫生差"),
    "B0302": _p(2.2, "垃圾箱破损", "垃圾箱满溢"),
    "B0303": _p(0.7, "店招牌匾破损", "广告牌松动"),
    "B0401": _p(1.4, "行道树倒伏", "行道树枝干断裂"),
    "B0402": _p(1.3, "绿地被踩踏毁坏", "绿地内杂物堆积"),
    "B0403": _p(0.5, "护树板缺失", "树池破损"),
    "B0501": _p(0.3, "地下通道照明损坏", "通道积水"),
    "B0601": _p(0.6, "健身器材损坏", "健身器材松动"),
    "B0602": _p(0.4, "监控探头损坏", "监控立杆倾斜"),
    # 事件 (incidents)
    "S0101": _p(9.0, "路边暴露垃圾", "绿化带内垃圾"),
    "S0102": _p(3.0, "积存垃圾渣土", "建筑垃圾乱倒"),
    "S0103": _p(4.0, "路面油污", "道路保洁不到位"),
    "S0104": _p(5.0, "人行道乱堆物", "楼道杂物堆放"),
    "S0201": _p(5.0, "墙面小广告", "电线杆小广告"),
    "S0202": _p(1.0, "违规横幅", "违规户外广告"),
    "S0301": _p(2.0, "夜间施工噪音", "施工扰民"),
    "S0302": _p(1.5, "工地扬尘", "渣土车未覆盖"),
    "S0303": _p(0.6, "擅自开挖路面", "掘路未恢复"),
    "S0401": _p(1.0, "道路积水严重", "下穿通道积水"),
    "S0402": _p(0.3, "路面塌陷", "路面空洞"),
    "S0403": _p(0.6, "电动车楼道充电", "消防通道堵塞"),
    "S0501": _p(8.0, "流动摊贩占道经营", "早餐摊占道"),
    "S0502": _p(6.0, "店外经营", "商铺出店摆卖"),
    "S0503": _p(7.0, "机动车占用人行道", "车辆乱停"),
    "S0504": _p(7.0, "共享单车乱停放", "电动车乱停"),
    "S0601": _p(3.0, "商铺噪声扰民", "广场舞噪声"),
    "S0602": _p(1.0, "疑似群租房", "出租房隔断"),
    "S0603": _p(2.0, "邻里纠纷", "楼上漏水纠纷"),
    "S0604": _p(2.0, "楼顶私搭乱建", "违章搭建棚屋"),
}
"""Category code → sample profile, for exactly the codes of the product taxonomy."""

if set(PROFILES) != {c.code for c in CATEGORIES}:  # pragma: no cover - a taxonomy edit
    raise ImportError(
        "sample profiles do not match gridgeo.events.taxonomy.CATEGORIES: "
        f"{sorted(set(PROFILES) ^ {c.code for c in CATEGORIES})}"
    )


def profile(code: str) -> SampleProfile:
    """The sample profile of category ``code``.

    Raises
    ------
    NotFound
        If the taxonomy has no category with that code.

    Examples
    --------
    >>> profile("B0103").weight
    2.0
    """
    try:
        return PROFILES[code]
    except KeyError:
        raise NotFound(f"no event category with code {code!r}") from None


def weights(codes: Iterable[str] | None = None) -> NDArray[np.float64]:
    """Background weights of ``codes`` (default: every category, in taxonomy order).

    Raises
    ------
    NotFound
        On a code that is not in the taxonomy.

    Examples
    --------
    >>> w = weights()
    >>> w.size, float(w.max())
    (36, 9.0)
    """
    chosen = [c.code for c in CATEGORIES] if codes is None else list(codes)
    return np.array([profile(code).weight for code in chosen], dtype=np.float64)
