"""The closed loop of an event (闭环流程) as a state machine.

An event moves 上报 → 核实 → 立案 → 派遣 → 处置 → 反馈 → 核查 → 结案 → 评价; it
can be cancelled before it is closed, sent back for rework when the check
fails, and given more time (延期) while it is with the handling department.

States have stable English ids (used in the database, the API and by
clients) and Chinese labels (:data:`STATE_LABELS`); so do actions
(:data:`ACTION_LABELS`). ``"new"`` (:data:`NEW`) is the pseudo-state of an
event that does not exist yet: its only action is ``report``.

Transitions
-----------
==============  ==========  ============  ==========================================
from state      action      to state      meaning
==============  ==========  ============  ==========================================
new             report      reported      上报: a worker, resident or system reports
reported        verify      verified      核实: confirmed on site
reported        reject      cancelled     核实不属实: not a real problem, 不予立案
verified        register    registered    立案: accepted as a case; **the clock starts**
registered      dispatch    dispatched    派遣: sent to the handling department
dispatched      defer       dispatched    延期: extension approved, due time moves on
dispatched      handle      handled       处置: the department reports it handled
handled         feedback    fed_back      反馈: result reported back to the centre
fed_back        check       checked       核查: on-site check passed
fed_back        rework      dispatched    返工: check failed, back to the department
checked         close       closed        结案: closed; **the clock stops**
closed          evaluate    evaluated     评价: the result is rated
reported …      cancel      cancelled     作废/撤销: withdrawn (duplicate, wrong entry),
checked                                   allowed in every state before ``closed``
==============  ==========  ============  ==========================================

``evaluated`` and ``cancelled`` are final. Extension is an action, not a
state: an approved 延期 keeps the event ``dispatched`` and adds working hours
to its due time (:func:`gridgeo.events.deadlines.due_at`); indicators count
such events as *deferred*. Rework returns the event to ``dispatched`` (the
department handles it again under the same due time) and may repeat.

Roles
-----
:data:`ACTION_ROLES` says which API roles may take each action: grid workers
(``worker``) report, handle (自处置) and feed back — the API restricts them to
events of their own grid (:data:`GRID_SCOPED_ROLES`); analysts (``analyst``)
evaluate; the command-centre actions (verify, reject, register, dispatch,
defer, check, rework, close, cancel) need ``admin``. ``planner`` draws
boundaries and takes no event actions. :func:`check_role` raises
:class:`~gridgeo.errors.Forbidden` otherwise.

Examples
--------
>>> transition("dispatched", "handle")
'handled'
>>> allowed_actions("fed_back")
['check', 'rework', 'cancel']
>>> transition("closed", "cancel")
Traceback (most recent call last):
...
gridgeo.errors.Conflict: cannot cancel an event that is closed; allowed: evaluate
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
import pandas as pd

from gridgeo.errors import Conflict, Forbidden, InvalidInput

__all__ = [
    "ACTIONS",
    "ACTION_LABELS",
    "ACTION_ROLES",
    "CLOSED_STATES",
    "FINAL_STATES",
    "GRID_SCOPED_ROLES",
    "NEW",
    "OPEN_STATES",
    "ROLES",
    "STAGE_COLUMNS",
    "STATES",
    "STATE_LABELS",
    "TRANSITIONS",
    "actions_for_role",
    "allowed_actions",
    "check_role",
    "replay",
    "transition",
]

NEW: Final = "new"
"""Pseudo-state before the report."""

STATES: Final[tuple[str, ...]] = (
    "reported",
    "verified",
    "registered",
    "dispatched",
    "handled",
    "fed_back",
    "checked",
    "closed",
    "evaluated",
    "cancelled",
)
"""Event states in workflow order (``cancelled`` last)."""

STATE_LABELS: Final[dict[str, str]] = {
    "reported": "上报",
    "verified": "核实",
    "registered": "立案",
    "dispatched": "派遣",
    "handled": "处置",
    "fed_back": "反馈",
    "checked": "核查",
    "closed": "结案",
    "evaluated": "评价",
    "cancelled": "作废",
}

ACTIONS: Final[tuple[str, ...]] = (
    "report",
    "verify",
    "reject",
    "register",
    "dispatch",
    "handle",
    "defer",
    "feedback",
    "check",
    "rework",
    "close",
    "evaluate",
    "cancel",
)
"""Workflow actions, in the order :func:`allowed_actions` lists them."""

ACTION_LABELS: Final[dict[str, str]] = {
    "report": "上报",
    "verify": "核实",
    "reject": "不予立案",
    "register": "立案",
    "dispatch": "派遣",
    "handle": "处置",
    "defer": "延期",
    "feedback": "反馈",
    "check": "核查",
    "rework": "返工",
    "close": "结案",
    "evaluate": "评价",
    "cancel": "撤销",
}

FINAL_STATES: Final[frozenset[str]] = frozenset({"evaluated", "cancelled"})
"""States no action leaves."""

CLOSED_STATES: Final[frozenset[str]] = frozenset({"closed", "evaluated"})
"""States of a closed case (结案)."""

OPEN_STATES: Final[frozenset[str]] = frozenset(STATES) - CLOSED_STATES - {"cancelled"}
"""States of a live case: reported up to checked."""

_CANCELLABLE: Final = (
    "reported",
    "verified",
    "registered",
    "dispatched",
    "handled",
    "fed_back",
    "checked",
)

TRANSITIONS: Final[Mapping[tuple[str, str], str]] = {
    (NEW, "report"): "reported",
    ("reported", "verify"): "verified",
    ("reported", "reject"): "cancelled",
    ("verified", "register"): "registered",
    ("registered", "dispatch"): "dispatched",
    ("dispatched", "defer"): "dispatched",
    ("dispatched", "handle"): "handled",
    ("handled", "feedback"): "fed_back",
    ("fed_back", "check"): "checked",
    ("fed_back", "rework"): "dispatched",
    ("checked", "close"): "closed",
    ("closed", "evaluate"): "evaluated",
    **{(state, "cancel"): "cancelled" for state in _CANCELLABLE},
}
"""(state, action) → next state; every pair not listed is illegal."""

ROLES: Final[tuple[str, ...]] = ("planner", "analyst", "worker", "admin")
"""API roles (see DESIGN.md section 10)."""

ACTION_ROLES: Final[dict[str, frozenset[str]]] = {
    "report": frozenset({"worker", "admin"}),
    "verify": frozenset({"admin"}),
    "reject": frozenset({"admin"}),
    "register": frozenset({"admin"}),
    "dispatch": frozenset({"admin"}),
    "handle": frozenset({"worker", "admin"}),
    "defer": frozenset({"admin"}),
    "feedback": frozenset({"worker", "admin"}),
    "check": frozenset({"admin"}),
    "rework": frozenset({"admin"}),
    "close": frozenset({"admin"}),
    "evaluate": frozenset({"analyst", "admin"}),
    "cancel": frozenset({"admin"}),
}
"""Action → roles allowed to take it."""

GRID_SCOPED_ROLES: Final[frozenset[str]] = frozenset({"worker"})
"""Roles that may act only on events of their own grid (enforced by the API)."""

STAGE_COLUMNS: Final[dict[str, tuple[str, str]]] = {
    "reported_at": ("report", "first"),
    "verified_at": ("verify", "first"),
    "registered_at": ("register", "first"),
    "dispatched_at": ("dispatch", "first"),
    "handled_at": ("handle", "last"),
    "feedback_at": ("feedback", "last"),
    "checked_at": ("check", "last"),
    "closed_at": ("close", "first"),
    "evaluated_at": ("evaluate", "first"),
    "cancelled_at": ("cancel", "first"),
}
"""Timestamp columns of :func:`replay`: column → (action, which occurrence).

``cancelled_at`` also takes the time of ``reject``.
"""

_STATE_CODE: Final[dict[str, int]] = {NEW: 0, **{s: i + 1 for i, s in enumerate(STATES)}}
_STATE_NAMES: Final[tuple[str, ...]] = (NEW, *STATES)
_ACTION_CODE: Final[dict[str, int]] = {a: i for i, a in enumerate(ACTIONS)}
_TABLE: Final[np.ndarray] = np.full((len(_STATE_NAMES), len(ACTIONS)), -1, dtype=np.int64)
for (_s, _a), _t in TRANSITIONS.items():
    _TABLE[_STATE_CODE[_s], _ACTION_CODE[_a]] = _STATE_CODE[_t]


def _check_state(state: str) -> None:
    if state not in _STATE_CODE:
        raise InvalidInput(
            f"unknown event state {state!r}; states: {', '.join(_STATE_NAMES)}",
            details={"state": state},
        )


def _check_action(action: str) -> None:
    if action not in _ACTION_CODE:
        raise InvalidInput(
            f"unknown event action {action!r}; actions: {', '.join(ACTIONS)}",
            details={"action": action},
        )


def allowed_actions(state: str) -> list[str]:
    """Actions allowed in ``state``, in :data:`ACTIONS` order (empty when final).

    Raises
    ------
    InvalidInput
        If ``state`` is not a state.

    Examples
    --------
    >>> allowed_actions("new"), allowed_actions("dispatched"), allowed_actions("cancelled")
    (['report'], ['handle', 'defer', 'cancel'], [])
    """
    _check_state(state)
    row = _TABLE[_STATE_CODE[state]]
    return [a for a, nxt in zip(ACTIONS, row, strict=True) if nxt >= 0]


def _illegal_message(state: str, action: str) -> str:
    allowed = allowed_actions(state)
    return f"cannot {action} an event that is {state}; allowed: " + (
        ", ".join(allowed) if allowed else "none (the event is final)"
    )


def transition(state: str, action: str) -> str:
    """The state ``action`` leads to from ``state``.

    Raises
    ------
    InvalidInput
        If ``state`` or ``action`` is unknown (HTTP 422).
    Conflict
        If the action is not allowed in the state (HTTP 409); the message names
        the allowed actions and ``details`` is ``{"state", "action", "allowed"}``.

    Examples
    --------
    >>> transition("fed_back", "rework")
    'dispatched'
    >>> try:
    ...     transition("reported", "dispatch")
    ... except Conflict as exc:
    ...     print(exc.message); print(exc.details["allowed"])
    cannot dispatch an event that is reported; allowed: verify, reject, cancel
    ['verify', 'reject', 'cancel']
    """
    _check_state(state)
    _check_action(action)
    nxt = int(_TABLE[_STATE_CODE[state], _ACTION_CODE[action]])
    if nxt < 0:
        raise Conflict(
            _illegal_message(state, action),
            details={"state": state, "action": action, "allowed": allowed_actions(state)},
        )
    return _STATE_NAMES[nxt]


def actions_for_role(role: str) -> list[str]:
    """Actions ``role`` may take, in :data:`ACTIONS` order.

    Examples
    --------
    >>> actions_for_role("worker")
    ['report', 'handle', 'feedback']
    >>> actions_for_role("planner")
    []
    """
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    return [a for a in ACTIONS if role in ACTION_ROLES[a]]


def check_role(role: str, action: str) -> None:
    """Raise :class:`~gridgeo.errors.Forbidden` unless ``role`` may take ``action``.

    Grid scope (a worker acting only on their own grid) is the caller's check.

    Examples
    --------
    >>> check_role("worker", "handle")
    >>> check_role("worker", "close")
    Traceback (most recent call last):
    ...
    gridgeo.errors.Forbidden: role worker may not close events; it may: report, handle, feedback
    """
    _check_action(action)
    mine = actions_for_role(role)
    if action not in mine:
        raise Forbidden(
            f"role {role} may not {action} events; it may: "
            + (", ".join(mine) if mine else "nothing"),
            details={"role": role, "action": action, "allowed": mine},
        )


_REPLAY_COLUMNS: Final = ("event_id", "seq", "action", "at")


def replay(history: pd.DataFrame) -> pd.DataFrame:
    """Validate whole event histories and summarise each event.

    Steps of each event are applied in ``seq`` order from :data:`NEW`; the
    first step that is illegal in the state reached (or whose ``at`` is
    earlier than the previous step's) stops that event: later steps are not
    applied and the event keeps the state before it. All events advance
    together, one step rank at a time, with array lookups in the transition
    table.

    Parameters
    ----------
    history : pandas.DataFrame
        One row per step: ``event_id``, ``seq`` (orders the steps of an event,
        unique within it), ``action`` (from :data:`ACTIONS`), ``at`` (datetime).
        Optional ``hours``: the working hours granted by a ``defer`` step.

    Returns
    -------
    pandas.DataFrame
        One row per event, ordered by ``event_id``:

        ``event_id``; ``state`` (after the legal steps); ``valid`` (no illegal
        step); ``steps`` (steps applied); the stage times of
        :data:`STAGE_COLUMNS` (NaT if not reached; the handle, feedback and
        check times are those of the final pass after rework); ``rework_count``;
        ``defer_count``; ``deferred_hours`` (sum of ``hours`` of defer steps,
        0 without any, NaN if a defer step has no hours); ``error_seq``,
        ``error_action`` and ``error`` (the first illegal step and why; missing
        when valid).

    Raises
    ------
    InvalidInput
        If a column is missing, an action is unknown, ``at`` is missing, or an
        event repeats a ``seq``.

    Examples
    --------
    >>> t = pd.Timestamp("2026-03-02 09:00", tz="Asia/Shanghai")
    >>> steps = ["report", "verify", "register", "dispatch", "handle", "feedback",
    ...          "rework", "handle", "feedback", "check", "close"]
    >>> h = pd.DataFrame({"event_id": "E1", "seq": range(len(steps)), "action": steps,
    ...                   "at": [t + pd.Timedelta(minutes=10 * i) for i in range(len(steps))]})
    >>> h = pd.concat([h, pd.DataFrame({"event_id": "E2", "seq": [1, 2],
    ...                "action": ["report", "close"], "at": [t, t]})])
    >>> out = replay(h)
    >>> out[["event_id", "state", "valid", "steps", "rework_count"]]
      event_id     state  valid  steps  rework_count
    0       E1    closed   True     11             1
    1       E2  reported  False      1             0
    >>> out.loc[1, "error"]
    'step 2: cannot close an event that is reported; allowed: verify, reject, cancel'
    """
    missing = [c for c in _REPLAY_COLUMNS if c not in history.columns]
    if missing:
        raise InvalidInput(f"the history lacks column(s) {', '.join(missing)}")
    cols = [*_REPLAY_COLUMNS, *(["hours"] if "hours" in history.columns else [])]
    h = history[cols].sort_values(["event_id", "seq"], kind="stable").reset_index(drop=True)
    n = len(h)
    actions = h["action"].astype(object).to_numpy()
    unknown = sorted({str(a) for a in actions if a not in _ACTION_CODE})
    if unknown:
        raise InvalidInput(
            f"unknown event action(s) {', '.join(unknown)}; actions: {', '.join(ACTIONS)}",
            details={"unknown_actions": unknown},
        )
    dup = h.duplicated(["event_id", "seq"])
    if dup.any():
        first = h.loc[dup.idxmax()]
        raise InvalidInput(
            f"event {first['event_id']} repeats step seq {first['seq']}",
            details={"event_id": str(first["event_id"]), "seq": str(first["seq"])},
        )
    if n == 0:
        return _empty_replay(history)
    at = pd.DatetimeIndex(h["at"])
    if at.hasnans:
        raise InvalidInput(f"{int(at.isna().sum())} history step(s) have no time ('at')")
    at_ns = at.as_unit("ns").asi8
    act = np.array([_ACTION_CODE[a] for a in actions], dtype=np.int64)
    hours = h["hours"].to_numpy(dtype=np.float64) if "hours" in h.columns else np.full(n, np.nan)

    codes, event_ids = pd.factorize(h["event_id"], sort=False)  # sorted already
    m = len(event_ids)
    starts = np.r_[0, np.flatnonzero(np.diff(codes) != 0) + 1]
    rank = np.arange(n) - starts[codes]
    by_rank = np.argsort(rank, kind="stable")
    rank_edges = np.searchsorted(rank[by_rank], np.arange(int(rank.max()) + 2))

    state = np.zeros(m, dtype=np.int64)
    last_at = np.full(m, np.iinfo(np.int64).min, dtype=np.int64)
    stopped = np.zeros(m, dtype=bool)
    error_row = np.full(m, -1, dtype=np.int64)
    error_kind = np.zeros(m, dtype=np.int64)  # 1 illegal transition, 2 time goes back
    error_state = np.zeros(m, dtype=np.int64)
    steps = np.zeros(m, dtype=np.int64)
    stage_row = {col: np.full(m, -1, dtype=np.int64) for col in STAGE_COLUMNS}
    rework = np.zeros(m, dtype=np.int64)
    defers = np.zeros(m, dtype=np.int64)
    defer_hours = np.zeros(m, dtype=np.float64)
    cancel_like = {_ACTION_CODE["cancel"], _ACTION_CODE["reject"]}

    for r in range(len(rank_edges) - 1):
        rows = by_rank[rank_edges[r] : rank_edges[r + 1]]
        ev = codes[rows]
        live = ~stopped[ev]
        rows, ev = rows[live], ev[live]
        nxt = _TABLE[state[ev], act[rows]]
        backwards = at_ns[rows] < last_at[ev]
        bad = (nxt < 0) | backwards
        bad_ev = ev[bad]
        stopped[bad_ev] = True
        error_row[bad_ev] = rows[bad]
        error_kind[bad_ev] = np.where(nxt[bad] < 0, 1, 2)
        error_state[bad_ev] = state[bad_ev]
        ok_rows, ok_ev = rows[~bad], ev[~bad]
        state[ok_ev] = nxt[~bad]
        last_at[ok_ev] = at_ns[ok_rows]
        steps[ok_ev] += 1
        a = act[ok_rows]
        for col, (action, which) in STAGE_COLUMNS.items():
            codes_here = cancel_like if col == "cancelled_at" else {_ACTION_CODE[action]}
            hit = np.isin(a, list(codes_here))
            target = stage_row[col]
            if which == "first":
                hit &= target[ok_ev] < 0
            target[ok_ev[hit]] = ok_rows[hit]
        rework[ok_ev] += a == _ACTION_CODE["rework"]
        is_defer = a == _ACTION_CODE["defer"]
        defers[ok_ev] += is_defer
        defer_hours[ok_ev[is_defer]] += hours[ok_rows[is_defer]]

    out = pd.DataFrame(
        {
            "event_id": np.asarray(event_ids, dtype=object),
            "state": np.asarray(_STATE_NAMES, dtype=object)[state],
            "valid": error_row < 0,
            "steps": steps,
        }
    )
    at_col = h["at"]
    for col, rows_of in stage_row.items():
        out[col] = at_col.iloc[np.maximum(rows_of, 0)].reset_index(drop=True).where(rows_of >= 0)
    out["rework_count"] = rework
    out["defer_count"] = defers
    out["deferred_hours"] = defer_hours
    has_error = error_row >= 0
    pick = np.maximum(error_row, 0)
    error_seq = h["seq"].iloc[pick].reset_index(drop=True)
    if pd.api.types.is_integer_dtype(error_seq.dtype):
        error_seq = error_seq.astype("Int64")
    out["error_seq"] = error_seq.where(has_error)
    out["error_action"] = pd.Series(actions[pick], dtype=object).where(has_error)
    messages: list[str | None] = [None] * m
    for i in np.flatnonzero(has_error):
        row = int(error_row[i])
        where = f"step {h['seq'].iat[row]}: "
        if error_kind[i] == 1:
            messages[i] = where + _illegal_message(_STATE_NAMES[error_state[i]], actions[row])
        else:
            messages[i] = where + f"{actions[row]} at {at[row]} is earlier than the previous step"
    out["error"] = pd.Series(messages, dtype=object)
    return out


def _empty_replay(history: pd.DataFrame) -> pd.DataFrame:
    at_dtype = history["at"].dtype
    columns: dict[str, pd.Series] = {
        "event_id": pd.Series([], dtype=object),
        "state": pd.Series([], dtype=object),
        "valid": pd.Series([], dtype=bool),
        "steps": pd.Series([], dtype=np.int64),
        **{col: pd.Series([], dtype=at_dtype) for col in STAGE_COLUMNS},
        "rework_count": pd.Series([], dtype=np.int64),
        "defer_count": pd.Series([], dtype=np.int64),
        "deferred_hours": pd.Series([], dtype=np.float64),
        "error_seq": pd.Series([], dtype=history["seq"].dtype),
        "error_action": pd.Series([], dtype=object),
        "error": pd.Series([], dtype=object),
    }
    return pd.DataFrame(columns)
