"""Names of generated units and people in the sample city.

Every name is drawn from fixed pools with a caller-supplied random generator,
so the same generator state gives the same names on every machine. Grid and
micro-grid names follow the usual pattern ``<community>第N网格`` and
``<grid>第N微网格``; special grids get plausible but invented institution
names; workers get common Zhejiang surnames and given names.

Examples
--------
>>> short_name("荣庄村委会"), short_name("陈公桥社区"), place_name("瓜沥镇")
('荣庄村', '陈公桥社区', '瓜沥')
>>> grid_name("荣庄村委会", 1), microgrid_name("荣庄村第1网格", 2)
('荣庄村第1网格', '荣庄村第1网格第2微网格')
>>> import numpy as np
>>> len(person_names(np.random.default_rng(0), 3))
3
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

SPECIAL_TYPES = ("school", "campus", "hospital", "industrial_park", "commercial")
"""Kinds of special grid (专属网格) the sample city contains."""

_SURNAMES = (
    "王陈张李徐周吴沈俞来孔楼韩汪朱何施方钱杨黄赵孙郑傅金胡许蔡丁邵葛陆"
    "姚潘章董汤鲁袁戴范洪裘倪史毛田高林谢郭"
)
# Rough frequency weights: the first surnames are much more common.
_SURNAME_WEIGHTS = 1.0 / np.sqrt(np.arange(1, len(_SURNAMES) + 1))
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华建国志红玲丹萍鑫斌浩宇"
    "婷雪琳晨佳怡欣俊峰亮辉燕飞波海燕琴云凯龙文博晓慧颖倩梅兰健林立新春"
)
_ORDINALS = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十")
_SCHOOL_NUMBERS = ("", "第一", "第二", "第三", "第四")


def short_name(official: str) -> str:
    """Shorten an official community name for use in grid names.

    ``…村委会`` / ``…村民委员会`` become ``…村``, ``…社区居委会`` /
    ``…居委会`` become ``…社区``; other names are kept.
    """
    for suffix, replacement in (
        ("村民委员会", "村"),
        ("村委会", "村"),
        ("社区居民委员会", "社区"),
        ("社区居委会", "社区"),
        ("居委会", "社区"),
    ):
        if official.endswith(suffix):
            return official[: -len(suffix)] + replacement
    return official


def place_name(street: str) -> str:
    """Place name of a street or town without its type (``城厢街道`` → ``城厢``)."""
    for suffix in ("街道", "镇", "乡"):
        if street.endswith(suffix) and len(street) > len(suffix) + 1:
            return street[: -len(suffix)]
    return street


def grid_name(community: str, number: int) -> str:
    """Name of the ``number``-th grid of a community (``陈公桥社区第3网格``)."""
    return f"{short_name(community)}第{number}网格"


def microgrid_name(grid: str, number: int) -> str:
    """Name of the ``number``-th micro-grid of a grid (``…第3网格第2微网格``)."""
    return f"{grid}第{number}微网格"


def person_names(rng: np.random.Generator, n: int) -> list[str]:
    """Draw ``n`` plausible Chinese personal names (surname + 1–2 characters).

    Parameters
    ----------
    rng : numpy.random.Generator
    n : int

    Returns
    -------
    list of str
    """
    p = _SURNAME_WEIGHTS / _SURNAME_WEIGHTS.sum()
    surnames = rng.choice(len(_SURNAMES), size=n, p=p)
    two = rng.random(n) < 0.7
    first = rng.integers(0, len(_GIVEN), size=n)
    second = rng.integers(0, len(_GIVEN), size=n)
    return [
        _SURNAMES[s] + _GIVEN[a] + (_GIVEN[b] if t else "")
        for s, a, b, t in zip(
            surnames.tolist(), first.tolist(), second.tolist(), two.tolist(), strict=True
        )
    ]


def special_names(
    rng: np.random.Generator,
    kinds: NDArray[np.str_],
    places: NDArray[np.str_],
    towns: NDArray[np.bool_],
) -> list[str]:
    """Invent distinct names for special grids.

    Parameters
    ----------
    rng : numpy.random.Generator
    kinds : numpy.ndarray of str
        One of :data:`SPECIAL_TYPES` per special grid.
    places : numpy.ndarray of str
        Place name (street or town, see :func:`place_name`) of each one.
    towns : numpy.ndarray of bool
        Whether the place is a town (镇) rather than an urban street.

    Returns
    -------
    list of str
        Names, unique within the call.
    """
    pools = {
        "campus": [
            f"浙江{x}职业技术学院萧山校区"
            for x in (
                "工贸",
                "财经",
                "信息",
                "建设",
                "旅游",
                "交通",
                "机电",
                "医药",
                "艺术",
                "体育",
                "商贸",
                "电子",
                "水利",
                "纺织",
                "外语",
                "警官",
            )
        ]
        + [f"杭州{x}学院萧山校区" for x in ("科技", "经贸", "文理", "师范", "城建", "传媒")],
        "industrial_park": [
            f"萧山经济技术开发区{x}产业园"
            for x in (
                "智能制造",
                "生物医药",
                "新材料",
                "数字经济",
                "汽车零部件",
                "装备制造",
                "节能环保",
                "信息港",
                "航空物流",
                "电子信息",
                "新能源",
                "时尚纺织",
            )
        ],
        "commercial": [
            f"{x}{y}"
            for x in (
                "江南",
                "湘湖",
                "金城",
                "世纪",
                "东方",
                "锦绣",
                "时代",
                "星光",
                "明珠",
                "南岸",
                "潮都",
                "云城",
                "钱塘",
                "宏达",
                "恒升",
                "联华",
                "国汇",
                "万和",
            )
            for y in ("广场", "中心", "商业综合体", "大厦")
        ],
    }
    hospital_fixed = [
        "萧山区中医院",
        "萧山区妇幼保健院",
        "萧山区精神卫生中心",
        "萧山区老年病医院",
        "萧山区中医骨伤科医院",
        "萧山区口腔医院",
        "萧山区康复医院",
        "萧山区眼科医院",
        "萧山区儿童医院",
        "萧山区中西医结合医院",
        "萧山区第二中医院",
        "萧山区肿瘤康复医院",
    ] + [f"萧山区第{o}人民医院" for o in _ORDINALS[:8]]
    shuffled = {key: [pool[i] for i in rng.permutation(len(pool))] for key, pool in pools.items()}
    hospital_pool = [hospital_fixed[i] for i in rng.permutation(len(hospital_fixed))]
    used: set[str] = set()
    names: list[str] = []
    for kind, place, town in zip(kinds.tolist(), places.tolist(), towns.tolist(), strict=True):
        candidates: list[str]
        if kind == "school":
            candidates = [f"{place}{o}{lv}" for lv in ("小学", "初级中学") for o in _SCHOOL_NUMBERS]
            candidates += [f"{place}{x}" for x in ("实验学校", "中心小学", "实验小学", "高级中学")]
            candidates = [candidates[i] for i in rng.permutation(len(candidates))]
        elif kind == "hospital":
            local = f"{place}镇中心卫生院" if town else f"{place}街道社区卫生服务中心"
            candidates = [local, *hospital_pool] if rng.random() < 0.6 else [*hospital_pool, local]
        elif kind == "industrial_park":
            local_parks = [f"{place}{x}" for x in ("工业园区", "小微企业园", "智造园", "物流园")]
            local_parks = [local_parks[i] for i in rng.permutation(len(local_parks))]
            if rng.random() < 0.5:
                candidates = local_parks + shuffled["industrial_park"]
            else:
                candidates = shuffled["industrial_park"] + local_parks
        else:
            candidates = shuffled[kind]
        name = next((c for c in candidates if c not in used), None)
        if name is None:
            base = candidates[0]
            name = next(f"{base}{o}期" for o in _ORDINALS if f"{base}{o}期" not in used)
        used.add(name)
        names.append(name)
    return names
