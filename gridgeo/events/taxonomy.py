"""Event categories (two levels) and their time limits in working hours.

A small taxonomy after GB/T 30428 (数字化城市管理信息系统): every category has a
*type*, 部件 (a public component that is damaged or missing, code prefix
``B``) or 事件 (a problem of behaviour or environment, prefix ``S``); a
level-1 class (大类, e.g. ``S01`` 市容环境) and a level-2 subclass (小类, e.g.
``S0101`` 暴露垃圾). Codes are strings: type letter + two-digit class +
two-digit subclass, so ``code[:3]`` is the level-1 code.

Each category carries the department it is dispatched to and its handling
time limit in **working hours** on a
:class:`~gridgeo.events.calendar.WorkingCalendar`, counted from registration
(立案) to closure (结案); see :mod:`gridgeo.events.deadlines`. Limits are one
of :data:`TIME_LIMIT_HOURS`: 2 h for emergencies (路面塌陷, 道路积水), 4 h for
street order and hazards (井盖, 占道经营), 8 h for daily sanitation, 24 h
(about three working days) and 72 h (about ten) for repairs and cases that
need investigation.

Per-stage limits (optional) time the steps before and after handling: how
long verification (核实), registration (立案), dispatch (派遣) and the check
(核查) may take, in working hours from the previous step.
:data:`DEFAULT_STAGE_LIMIT_HOURS` holds illustrative values; a category can
override them. These numbers, like the handling limits, are examples: a city
configures its own.

The codes, names, limits and departments are those of the sample city
(:mod:`gridgeo.samples`), so sample events resolve here.

Examples
--------
>>> c = get_category("S0101")
>>> c.type, c.l1_code, c.l1_name, c.l2_name, c.time_limit_hours
('事件', 'S01', '市容环境', '暴露垃圾', 8)
>>> time_limits(["S0401", "B0103"]).tolist()
[2.0, 24.0]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from gridgeo.errors import InvalidInput, NotFound

__all__ = [
    "CATEGORIES",
    "DEFAULT_STAGE_LIMIT_HOURS",
    "L1_NAMES",
    "TIME_LIMIT_HOURS",
    "TYPE_NAMES",
    "Category",
    "categories_frame",
    "get_category",
    "stage_limit_hours",
    "time_limits",
]

TIME_LIMIT_HOURS: Final[tuple[int, ...]] = (2, 4, 8, 24, 72)
"""The handling limits (working hours) categories use."""

TYPE_NAMES: Final[dict[str, str]] = {"B": "部件", "S": "事件"}
"""Code prefix → category type (部件 components, 事件 incidents)."""

DEFAULT_STAGE_LIMIT_HOURS: Final[dict[str, float]] = {
    "verify": 1.0,
    "register": 0.5,
    "dispatch": 0.5,
    "check": 1.0,
}
"""Illustrative per-stage limits: workflow action → working hours after the previous step."""

_CODE_RE: Final = re.compile(r"[BS][0-9]{4}")


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
    time_limit_hours : float
        Working hours allowed from registration (立案) to closure (结案).
    department : str
        The department events of this category are dispatched to.
    stage_limits : tuple of (str, float)
        Per-stage limits overriding :data:`DEFAULT_STAGE_LIMIT_HOURS`, as
        (workflow action, working hours) pairs.
    """

    code: str
    l1_name: str
    l2_name: str
    time_limit_hours: float
    department: str
    stage_limits: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        if not _CODE_RE.fullmatch(self.code):
            raise InvalidInput(
                f"category code {self.code!r} must be B or S followed by four digits"
            )
        if not self.time_limit_hours > 0:
            raise InvalidInput(
                f"category {self.code}: time limit must be positive, got {self.time_limit_hours}"
            )
        for action, hours in self.stage_limits:
            if not hours > 0:
                raise InvalidInput(
                    f"category {self.code}: {action} limit must be positive, got {hours}"
                )

    @property
    def type(self) -> str:
        """``"部件"`` or ``"事件"``."""
        return TYPE_NAMES[self.code[0]]

    @property
    def l1_code(self) -> str:
        """Level-1 code, e.g. ``"S01"``."""
        return self.code[:3]

    def stage_limit(self, action: str) -> float | None:
        """Working hours allowed for ``action`` after the previous step, if limited.

        Examples
        --------
        >>> get_category("S0401").stage_limit("dispatch")
        0.25
        >>> get_category("S0101").stage_limit("handle") is None
        True
        """
        own = dict(self.stage_limits)
        if action in own:
            return own[action]
        return DEFAULT_STAGE_LIMIT_HOURS.get(action)


def _c(code: str, l1: str, l2: str, hours: float, dept: str, **stages: float) -> Category:
    return Category(code, l1, l2, hours, dept, tuple(stages.items()))


# Emergencies are verified and dispatched faster than the defaults.
_URGENT: Final = {"verify": 0.5, "register": 0.25, "dispatch": 0.25}

CATEGORIES: Final[tuple[Category, ...]] = (
    # 部件 (components)
    _c("B0101", "公用设施", "上水井盖", 4, "市政"),
    _c("B0102", "公用设施", "污水井盖", 4, "市政"),
    _c("B0103", "公用设施", "路灯", 24, "市政"),
    _c("B0104", "公用设施", "消防栓", 24, "应急"),
    _c("B0201", "道路交通", "交通信号灯", 4, "交警"),
    _c("B0202", "道路交通", "交通护栏", 24, "交警"),
    _c("B0203", "道路交通", "公交站亭", 72, "交通"),
    _c("B0301", "市容环境", "公共厕所", 24, "环卫"),
    _c("B0302", "市容环境", "垃圾箱", 24, "环卫"),
    _c("B0303", "市容环境", "广告牌匾", 72, "城管"),
    _c("B0401", "园林绿化", "行道树", 72, "园林"),
    _c("B0402", "园林绿化", "绿地", 72, "园林"),
    _c("B0403", "园林绿化", "护树设施", 72, "园林"),
    _c("B0501", "房屋土地", "地下通道", 72, "住建"),
    _c("B0601", "其他设施", "健身设施", 72, "体育"),
    _c("B0602", "其他设施", "监控电子眼", 24, "公安"),
    # 事件 (incidents)
    _c("S0101", "市容环境", "暴露垃圾", 8, "环卫"),
    _c("S0102", "市容环境", "积存垃圾渣土", 24, "环卫"),
    _c("S0103", "市容环境", "道路不洁", 8, "环卫"),
    _c("S0104", "市容环境", "乱堆物堆料", 24, "城管"),
    _c("S0201", "宣传广告", "非法小广告", 24, "城管"),
    _c("S0202", "宣传广告", "违规户外广告", 72, "城管"),
    _c("S0301", "施工管理", "施工扰民", 8, "住建"),
    _c("S0302", "施工管理", "工地扬尘", 24, "住建"),
    _c("S0303", "施工管理", "无证掘路", 72, "市政"),
    _c("S0401", "突发事件", "道路积水", 2, "市政", **_URGENT),
    _c("S0402", "突发事件", "路面塌陷", 2, "市政", **_URGENT),
    _c("S0403", "突发事件", "火灾隐患", 2, "应急", **_URGENT),
    _c("S0501", "街面秩序", "占道经营", 4, "城管"),
    _c("S0502", "街面秩序", "店外经营", 4, "城管"),
    _c("S0503", "街面秩序", "机动车乱停放", 4, "交警"),
    _c("S0504", "街面秩序", "非机动车乱停放", 4, "城管"),
    _c("S0601", "其他事件", "噪声扰民", 8, "环保"),
    _c("S0602", "其他事件", "群租房", 72, "社区"),
    _c("S0603", "其他事件", "邻里纠纷", 24, "社区"),
    _c("S0604", "其他事件", "私搭乱建", 72, "城管"),
)
"""All level-2 categories, in code order."""

L1_NAMES: Final[dict[str, str]] = {c.l1_code: c.l1_name for c in CATEGORIES}
"""Level-1 code → level-1 name, e.g. ``"S05"`` → ``"街面秩序"``."""

_BY_CODE: Final[dict[str, Category]] = {c.code: c for c in CATEGORIES}


def _lookup(categories: Iterable[Category] | None) -> Mapping[str, Category]:
    return _BY_CODE if categories is None else {c.code: c for c in categories}


def get_category(code: str, categories: Iterable[Category] | None = None) -> Category:
    """Return the category with ``code``.

    Parameters
    ----------
    code : str
    categories : iterable of Category, optional
        The taxonomy to search (default :data:`CATEGORIES`).

    Raises
    ------
    NotFound
        If no category has that code.

    Examples
    --------
    >>> get_category("B0103").department
    '市政'
    """
    try:
        return _lookup(categories)[code]
    except KeyError:
        raise NotFound(f"no event category with code {code!r}") from None


def time_limits(
    codes: ArrayLike, categories: Iterable[Category] | None = None
) -> NDArray[np.float64]:
    """Handling limit in working hours for each category code (vectorised).

    Raises
    ------
    InvalidInput
        Naming the codes (up to ten) that are not in the taxonomy.

    Examples
    --------
    >>> time_limits(pd.Series(["S0501", "S0501", "B0401"])).tolist()
    [4.0, 4.0, 72.0]
    """
    lookup = _lookup(categories)
    values = pd.Series(np.asarray(codes, dtype=object).ravel(), dtype=object)
    limits = values.map({k: float(c.time_limit_hours) for k, c in lookup.items()})
    unknown = values[limits.isna()]
    if len(unknown):
        names = sorted({str(u) for u in unknown})
        raise InvalidInput(
            f"unknown event category code(s): {', '.join(names[:10])}"
            + (f" and {len(names) - 10} more" if len(names) > 10 else ""),
            details={"unknown_codes": names},
        )
    return limits.to_numpy(dtype=np.float64)


def stage_limit_hours(
    code: str, action: str, categories: Iterable[Category] | None = None
) -> float | None:
    """Working hours allowed for workflow ``action`` on an event of category ``code``.

    ``None`` when the stage has no limit of its own (handling is limited by
    the category's overall time limit).

    Examples
    --------
    >>> stage_limit_hours("S0101", "verify"), stage_limit_hours("S0402", "verify")
    (1.0, 0.5)
    """
    return get_category(code, categories).stage_limit(action)


def categories_frame(categories: Iterable[Category] | None = None) -> pd.DataFrame:
    """The taxonomy as a table, one row per level-2 category.

    Columns: ``code, type, l1_code, l1_name, l2_name, time_limit_hours,
    department``, plus one ``<action>_limit_hours`` column per staged action
    (:data:`DEFAULT_STAGE_LIMIT_HOURS` keys, defaults filled in).

    Examples
    --------
    >>> df = categories_frame()
    >>> df.loc[df["code"] == "S0402", ["l1_name", "time_limit_hours", "dispatch_limit_hours"]]
    ... # doctest: +NORMALIZE_WHITESPACE
       l1_name  time_limit_hours  dispatch_limit_hours
    26    突发事件               2.0                  0.25
    >>> sorted(df["type"].unique())
    ['事件', '部件']
    """
    cats = list(_lookup(categories).values())
    frame = pd.DataFrame(
        {
            "code": [c.code for c in cats],
            "type": [c.type for c in cats],
            "l1_code": [c.l1_code for c in cats],
            "l1_name": [c.l1_name for c in cats],
            "l2_name": [c.l2_name for c in cats],
            "time_limit_hours": np.array([c.time_limit_hours for c in cats], dtype=np.float64),
            "department": [c.department for c in cats],
        }
    )
    for action in DEFAULT_STAGE_LIMIT_HOURS:
        frame[f"{action}_limit_hours"] = np.array(
            [c.stage_limit(action) for c in cats], dtype=np.float64
        )
    return frame
