"""Event categories, their time limits and the working calendar the limits count in.

Categories
----------
A small two-level taxonomy after GB/T 30428 (数字化城市管理信息系统): every
category belongs to one of two types, 部件 (a public *component* that is
damaged or missing, code prefix ``B``) or 事件 (an *event*, a problem of
behaviour or environment, code prefix ``S``); level 1 is the class (大类,
``B01`` 公用设施 …) and level 2 the subclass (小类, ``B0101`` 上水井盖 …).
Codes are strings: type letter + two-digit class + two-digit subclass, so
``code[:3]`` is the level-1 code.

Each category carries the department that handles it, a time limit in
*working hours* (one of :data:`TIME_LIMIT_HOURS`), a relative background
frequency for the sample city and a few short report phrases.

Working calendar
----------------
Time limits count working time only: Monday to Friday, 08:30–12:00 and
13:30–17:30 China Standard Time (UTC+8, no daylight saving), 7.5 working hours
a day. Public holidays and the adjusted working weekends (调休) are not
modelled. :func:`working_minutes` maps instants to a working-minute counter,
:func:`from_working_minutes` maps counter values back to the earliest instant
the counter reaches them (always inside a working period, or at its end), and
:func:`add_working_hours` is the composition used for due times.

Examples
--------
>>> get_category("S0101").l2_name
'暴露垃圾'
>>> start = pd.Timestamp("2025-03-07 16:30", tz="Asia/Shanghai")  # a Friday
>>> add_working_hours(pd.DatetimeIndex([start]), 2)[0].tz_convert("Asia/Shanghai")
Timestamp('2025-03-10 09:30:00+0800', tz='Asia/Shanghai')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from gridgeo.errors import InvalidInput, NotFound

__all__ = [
    "CATEGORIES",
    "MINUTES_PER_WORKING_DAY",
    "TIME_LIMIT_HOURS",
    "TYPE_NAMES",
    "WORKING_PERIODS",
    "Category",
    "add_working_hours",
    "categories_frame",
    "from_working_minutes",
    "get_category",
    "working_minutes",
]

TIME_LIMIT_HOURS: Final[tuple[int, ...]] = (2, 4, 8, 24, 72)
"""The time limits (working hours) categories may have."""

TYPE_NAMES: Final[dict[str, str]] = {"B": "部件", "S": "事件"}
"""Code prefix → category type."""


@dataclass(frozen=True, slots=True)
class Category:
    """One level-2 event category.

    Attributes
    ----------
    code : str
        ``B``/``S`` + class (2 digits) + subclass (2 digits), e.g. ``"S0101"``.
    l1_name : str
        Level-1 class name, e.g. ``"市容环境"``.
    l2_name : str
        Level-2 subclass name, e.g. ``"暴露垃圾"``.
    time_limit_hours : int
        Time allowed from registration (立案) to closure (结案), in working hours.
    department : str
        The department events of this category are dispatched to.
    weight : float
        Relative frequency among background events of the sample city.
    phrases : tuple of str
        Short report texts used for generated descriptions.
    """

    code: str
    l1_name: str
    l2_name: str
    time_limit_hours: int
    department: str
    weight: float
    phrases: tuple[str, ...]

    @property
    def type(self) -> str:
        """``"部件"`` or ``"事件"``."""
        return TYPE_NAMES[self.code[0]]

    @property
    def l1_code(self) -> str:
        """Level-1 code, e.g. ``"S01"``."""
        return self.code[:3]


def _c(
    code: str, l1: str, l2: str, hours: int, dept: str, weight: float, *phrases: str
) -> Category:
    return Category(code, l1, l2, hours, dept, weight, tuple(phrases))


CATEGORIES: Final[tuple[Category, ...]] = (
    # 部件 (components)
    _c("B0101", "公用设施", "上水井盖", 4, "市政", 1.2, "上水井盖破损", "上水井盖缺失"),
    _c("B0102", "公用设施", "污水井盖", 4, "市政", 1.5, "污水井盖破损", "污水井盖松动异响"),
    _c("B0103", "公用设施", "路灯", 24, "市政", 2.0, "路灯不亮", "路灯灯杆倾斜"),
    _c("B0104", "公用设施", "消防栓", 24, "应急", 0.6, "消防栓漏水", "消防栓被遮挡"),
    _c("B0201", "道路交通", "交通信号灯", 4, "交警", 0.5, "信号灯故障", "信号灯不亮"),
    _c("B0202", "道路交通", "交通护栏", 24, "交警", 1.0, "交通护栏倒伏", "交通护栏破损"),
    _c("B0203", "道路交通", "公交站亭", 72, "交通", 0.6, "公交站亭破损", "站牌污损"),
    _c("B0301", "市容环境", "公共厕所", 24, "环卫", 0.8, "公厕设施损坏", "公厕卫生差"),
    _c("B0302", "市容环境", "垃圾箱", 24, "环卫", 2.2, "垃圾箱破损", "垃圾箱满溢"),
    _c("B0303", "市容环境", "广告牌匾", 72, "城管", 0.7, "店招牌匾破损", "广告牌松动"),
    _c("B0401", "园林绿化", "行道树", 72, "园林", 1.4, "行道树倒伏", "行道树枝干断裂"),
    _c("B0402", "园林绿化", "绿地", 72, "园林", 1.3, "绿地被踩踏毁坏", "绿地内杂物堆积"),
    _c("B0403", "园林绿化", "护树设施", 72, "园林", 0.5, "护树板缺失", "树池破损"),
    _c("B0501", "房屋土地", "地下通道", 72, "住建", 0.3, "地下通道照明损坏", "通道积水"),
    _c("B0601", "其他设施", "健身设施", 72, "体育", 0.6, "健身器材损坏", "健身器材松动"),
    _c("B0602", "其他设施", "监控电子眼", 24, "公安", 0.4, "监控探头损坏", "监控立杆倾斜"),
    # 事件 (events)
    _c("S0101", "市容环境", "暴露垃圾", 8, "环卫", 9.0, "路边暴露垃圾", "绿化带内垃圾"),
    _c("S0102", "市容环境", "积存垃圾渣土", 24, "环卫", 3.0, "积存垃圾渣土", "建筑垃圾乱倒"),
    _c("S0103", "市容环境", "道路不洁", 8, "环卫", 4.0, "路面油污", "道路保洁不到位"),
    _c("S0104", "市容环境", "乱堆物堆料", 24, "城管", 5.0, "人行道乱堆物", "楼道杂物堆放"),
    _c("S0201", "宣传广告", "非法小广告", 24, "城管", 5.0, "墙面小广告", "电线杆小广告"),
    _c("S0202", "宣传广告", "违规户外广告", 72, "城管", 1.0, "违规横幅", "违规户外广告"),
    _c("S0301", "施工管理", "施工扰民", 8, "住建", 2.0, "夜间施工噪音", "施工扰民"),
    _c("S0302", "施工管理", "工地扬尘", 24, "住建", 1.5, "工地扬尘", "渣土车未覆盖"),
    _c("S0303", "施工管理", "无证掘路", 72, "市政", 0.6, "擅自开挖路面", "掘路未恢复"),
    _c("S0401", "突发事件", "道路积水", 2, "市政", 1.0, "道路积水严重", "下穿通道积水"),
    _c("S0402", "突发事件", "路面塌陷", 2, "市政", 0.3, "路面塌陷", "路面空洞"),
    _c("S0403", "突发事件", "火灾隐患", 2, "应急", 0.6, "电动车楼道充电", "消防通道堵塞"),
    _c("S0501", "街面秩序", "占道经营", 4, "城管", 8.0, "流动摊贩占道经营", "早餐摊占道"),
    _c("S0502", "街面秩序", "店外经营", 4, "城管", 6.0, "店外经营", "商铺出店摆卖"),
    _c("S0503", "街面秩序", "机动车乱停放", 4, "交警", 7.0, "机动车占用人行道", "车辆乱停"),
    _c("S0504", "街面秩序", "非机动车乱停放", 4, "城管", 7.0, "共享单车乱停放", "电动车乱停"),
    _c("S0601", "其他事件", "噪声扰民", 8, "环保", 3.0, "商铺噪声扰民", "广场舞噪声"),
    _c("S0602", "其他事件", "群租房", 72, "社区", 1.0, "疑似群租房", "出租房隔断"),
    _c("S0603", "其他事件", "邻里纠纷", 24, "社区", 2.0, "邻里纠纷", "楼上漏水纠纷"),
    _c("S0604", "其他事件", "私搭乱建", 72, "城管", 2.0, "楼顶私搭乱建", "违章搭建棚屋"),
)
"""All level-2 categories, in code order."""

_BY_CODE: Final[dict[str, Category]] = {c.code: c for c in CATEGORIES}


def get_category(code: str) -> Category:
    """Return the category with ``code``.

    Raises
    ------
    NotFound
        If no category has that code.

    Examples
    --------
    >>> c = get_category("B0103")
    >>> c.type, c.l1_code, c.l1_name, c.time_limit_hours
    ('部件', 'B01', '公用设施', 24)
    """
    try:
        return _BY_CODE[code]
    except KeyError:
        raise NotFound(f"no event category with code {code!r}") from None


def categories_frame() -> pd.DataFrame:
    """Return the taxonomy as a table, one row per level-2 category.

    Columns: ``code, type, l1_code, l1_name, l2_name, time_limit_hours,
    department, weight`` (``weight`` normalised to sum to 1).

    Examples
    --------
    >>> df = categories_frame()
    >>> sorted(df["type"].unique())
    ['事件', '部件']
    >>> bool(abs(df["weight"].sum() - 1) < 1e-12)
    True
    """
    weights = np.array([c.weight for c in CATEGORIES])
    return pd.DataFrame(
        {
            "code": [c.code for c in CATEGORIES],
            "type": [c.type for c in CATEGORIES],
            "l1_code": [c.l1_code for c in CATEGORIES],
            "l1_name": [c.l1_name for c in CATEGORIES],
            "l2_name": [c.l2_name for c in CATEGORIES],
            "time_limit_hours": np.array([c.time_limit_hours for c in CATEGORIES], dtype=np.int64),
            "department": [c.department for c in CATEGORIES],
            "weight": weights / weights.sum(),
        }
    )


# --- working calendar ---------------------------------------------------------------

WORKING_PERIODS: Final[tuple[tuple[int, int], ...]] = (
    (8 * 60 + 30, 12 * 60),
    (13 * 60 + 30, 17 * 60 + 30),
)
"""Working periods of a working day, as (start, end) minutes after local midnight."""

MINUTES_PER_WORKING_DAY: Final[int] = sum(b - a for a, b in WORKING_PERIODS)
"""450 minutes (7.5 hours)."""

_UTC_OFFSET_S: Final[int] = 8 * 3600
# Counter epoch: Monday 1970-01-05 00:00 local time, as seconds after the Unix epoch (local).
_EPOCH_LOCAL_S: Final[int] = 4 * 86400
_WORKDAYS_PER_WEEK: Final[int] = 5


def _as_utc_index(times: ArrayLike | pd.Series | pd.DatetimeIndex) -> pd.DatetimeIndex:
    idx = pd.DatetimeIndex(times)
    if idx.tz is None:
        raise InvalidInput("working-calendar times must be timezone-aware")
    return idx.tz_convert("UTC")


def working_minutes(times: ArrayLike | pd.Series | pd.DatetimeIndex) -> NDArray[np.float64]:
    """Working minutes elapsed from the calendar epoch (Monday 1970-01-05) to each instant.

    Outside working periods the counter stands still, so every instant of a
    weekend maps to the value of the preceding Friday 17:30. NaT gives NaN.

    Parameters
    ----------
    times : array_like of timezone-aware datetimes

    Returns
    -------
    numpy.ndarray of float64

    Raises
    ------
    InvalidInput
        If the times are not timezone-aware.

    Examples
    --------
    >>> t = pd.DatetimeIndex(["2025-03-10 08:40", "2025-03-10 13:00"], tz="Asia/Shanghai")
    >>> w = working_minutes(t)
    >>> float(w[1] - w[0])
    200.0
    """
    idx = _as_utc_index(times)
    nat = idx.isna()
    secs = idx.as_unit("us").asi8.astype(np.float64) / 1e6
    local = secs + _UTC_OFFSET_S - _EPOCH_LOCAL_S
    day = np.floor(local / 86400.0)
    minute = (local - day * 86400.0) / 60.0
    week = np.floor(day / 7.0)
    dow = day - week * 7.0
    in_day = np.zeros_like(minute)
    for a, b in WORKING_PERIODS:
        in_day += np.clip(minute - a, 0.0, float(b - a))
    weekday = dow < _WORKDAYS_PER_WEEK
    full_days = week * _WORKDAYS_PER_WEEK + np.minimum(dow, _WORKDAYS_PER_WEEK)
    out = full_days * MINUTES_PER_WORKING_DAY + np.where(weekday, in_day, 0.0)
    out[nat] = np.nan
    return out


def from_working_minutes(values: ArrayLike) -> pd.DatetimeIndex:
    """The earliest instant at which the working-minute counter reaches each value.

    The inverse of :func:`working_minutes` on working time; results are UTC,
    rounded to the microsecond. NaN gives NaT.

    Examples
    --------
    >>> t = pd.DatetimeIndex(["2025-03-12 10:15"], tz="Asia/Shanghai")
    >>> from_working_minutes(working_minutes(t)).tz_convert("Asia/Shanghai")[0]
    Timestamp('2025-03-12 10:15:00+0800', tz='Asia/Shanghai')
    """
    w = np.asarray(values, dtype=np.float64)
    nan = np.isnan(w)
    w = np.where(nan, 1.0, w)
    k = np.ceil(w / MINUTES_PER_WORKING_DAY) - 1.0  # working-day index, within in (0, 450]
    within = w - k * MINUTES_PER_WORKING_DAY
    week = np.floor(k / _WORKDAYS_PER_WEEK)
    dow = k - week * _WORKDAYS_PER_WEEK
    minute = np.zeros_like(within)
    done = np.zeros(within.shape, dtype=bool)
    before = 0.0
    for a, b in WORKING_PERIODS:
        length = float(b - a)
        here = ~done & (within <= before + length)
        minute = np.where(here, a + within - before, minute)
        done |= here
        before += length
    local_s = (week * 7.0 + dow) * 86400.0 + minute * 60.0 + _EPOCH_LOCAL_S - _UTC_OFFSET_S
    us = np.round(local_s * 1e6).astype(np.int64)
    out = pd.DatetimeIndex(pd.to_datetime(us, unit="us", utc=True))
    return out.where(~nan)


def add_working_hours(
    times: ArrayLike | pd.Series | pd.DatetimeIndex, hours: ArrayLike
) -> pd.DatetimeIndex:
    """Add ``hours`` of working time to each instant (UTC result).

    An instant outside working time first moves to the start of the next
    working period. ``hours`` broadcasts against ``times``.

    Examples
    --------
    >>> t = pd.DatetimeIndex(["2025-03-10 11:00", "2025-03-08 10:00"], tz="Asia/Shanghai")
    >>> add_working_hours(t, [4, 1]).tz_convert("Asia/Shanghai").strftime("%a %H:%M").tolist()
    ['Mon 16:30', 'Mon 09:30']
    """
    h = np.asarray(hours, dtype=np.float64)
    if np.any(h < 0):
        raise InvalidInput("working hours to add must not be negative")
    return from_working_minutes(working_minutes(times) + h * 60.0)
