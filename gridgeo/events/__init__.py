"""Events (事件/部件问题): the closed-loop workflow, time limits and indicators.

Pure functions over strings, datetimes and DataFrames; persistence and the
HTTP layer build on them.

- :mod:`~gridgeo.events.workflow`: the state machine 上报 → 核实 → 立案 → 派遣
  → 处置 → 反馈 → 核查 → 结案 → 评价 with cancel, rework and defer; roles;
  replay of whole histories.
- :mod:`~gridgeo.events.calendar`: working calendars (working days, hours,
  holidays, make-up days) and working-hour arithmetic.
- :mod:`~gridgeo.events.taxonomy`: the two-level category taxonomy with
  time limits in working hours.
- :mod:`~gridgeo.events.deadlines`: due times and overdue flags.
- :mod:`~gridgeo.events.indicators`: counts and rates per grid, street or
  department (``gridgeo.events.indicators.indicators``; the function is not
  re-exported here so the name keeps meaning the module), and the overdue list.
"""

from gridgeo.events.calendar import (
    DEFAULT_CALENDAR,
    WorkingCalendar,
    add_working_hours,
    china_calendar,
    working_hours_between,
)
from gridgeo.events.deadlines import due_at, is_overdue
from gridgeo.events.indicators import overdue_list
from gridgeo.events.taxonomy import (
    CATEGORIES,
    Category,
    categories_frame,
    get_category,
    time_limits,
)
from gridgeo.events.workflow import (
    ACTION_ROLES,
    ACTIONS,
    STATES,
    TRANSITIONS,
    allowed_actions,
    check_role,
    replay,
    transition,
)

__all__ = [
    "ACTIONS",
    "ACTION_ROLES",
    "CATEGORIES",
    "DEFAULT_CALENDAR",
    "STATES",
    "TRANSITIONS",
    "Category",
    "WorkingCalendar",
    "add_working_hours",
    "allowed_actions",
    "categories_frame",
    "check_role",
    "china_calendar",
    "due_at",
    "get_category",
    "is_overdue",
    "overdue_list",
    "replay",
    "time_limits",
    "transition",
    "working_hours_between",
]
