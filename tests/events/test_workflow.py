"""The closed-loop state machine: every legal transition, illegal ones, roles, replay."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridgeo.errors import Conflict, Forbidden, InvalidInput
from gridgeo.events.workflow import (
    ACTION_ROLES,
    ACTIONS,
    NEW,
    ROLES,
    STATES,
    TRANSITIONS,
    actions_for_role,
    allowed_actions,
    check_role,
    replay,
    transition,
)

# The graph of the module docstring, written out independently of TRANSITIONS.
EXPECTED_GRAPH = {
    ("new", "report"): "reported",
    ("reported", "verify"): "verified",
    ("reported", "reject"): "cancelled",
    ("reported", "cancel"): "cancelled",
    ("verified", "register"): "registered",
    ("verified", "cancel"): "cancelled",
    ("registered", "dispatch"): "dispatched",
    ("registered", "cancel"): "cancelled",
    ("dispatched", "handle"): "handled",
    ("dispatched", "defer"): "dispatched",
    ("dispatched", "cancel"): "cancelled",
    ("handled", "feedback"): "fed_back",
    ("handled", "cancel"): "cancelled",
    ("fed_back", "check"): "checked",
    ("fed_back", "rework"): "dispatched",
    ("fed_back", "cancel"): "cancelled",
    ("checked", "close"): "closed",
    ("checked", "cancel"): "cancelled",
    ("closed", "evaluate"): "evaluated",
}

ALL_STATES = (NEW, *STATES)
ILLEGAL = [
    (s, a) for s, a in itertools.product(ALL_STATES, ACTIONS) if (s, a) not in EXPECTED_GRAPH
]

HAPPY = [
    "report",
    "verify",
    "register",
    "dispatch",
    "handle",
    "feedback",
    "check",
    "close",
    "evaluate",
]


def test_graph_is_the_documented_one() -> None:
    assert dict(TRANSITIONS) == EXPECTED_GRAPH


@pytest.mark.parametrize(("state", "action"), sorted(EXPECTED_GRAPH))
def test_every_legal_transition(state: str, action: str) -> None:
    assert transition(state, action) == EXPECTED_GRAPH[(state, action)]
    assert action in allowed_actions(state)


@pytest.mark.parametrize(("state", "action"), ILLEGAL)
def test_every_illegal_transition_is_a_conflict_naming_the_allowed_actions(
    state: str, action: str
) -> None:
    allowed = [a for a in ACTIONS if (state, a) in EXPECTED_GRAPH]
    with pytest.raises(Conflict) as info:
        transition(state, action)
    exc = info.value
    assert exc.status_code == 409
    assert exc.details == {"state": state, "action": action, "allowed": allowed}
    assert exc.message.startswith(f"cannot {action} an event that is {state}; allowed: ")
    for a in allowed:
        assert a in exc.message


@pytest.mark.parametrize(
    ("state", "action", "message"),
    [
        (
            "dispatched",
            "close",
            "cannot close an event that is dispatched; allowed: handle, defer, cancel",
        ),
        (
            "reported",
            "dispatch",
            "cannot dispatch an event that is reported; allowed: verify, reject, cancel",
        ),
        ("handled", "rework", "cannot rework an event that is handled; allowed: feedback, cancel"),
        ("closed", "cancel", "cannot cancel an event that is closed; allowed: evaluate"),
        ("checked", "defer", "cannot defer an event that is checked; allowed: close, cancel"),
        (
            "evaluated",
            "evaluate",
            "cannot evaluate an event that is evaluated; allowed: none (the event is final)",
        ),
        (
            "cancelled",
            "verify",
            "cannot verify an event that is cancelled; allowed: none (the event is final)",
        ),
        ("new", "verify", "cannot verify an event that is new; allowed: report"),
    ],
)
def test_illegal_messages(state: str, action: str, message: str) -> None:
    with pytest.raises(Conflict, match=f"^{re.escape(message)}$"):
        transition(state, action)


def test_unknown_state_or_action_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="unknown event state 'open'"):
        transition("open", "handle")
    with pytest.raises(InvalidInput, match="unknown event action 'approve'"):
        transition("dispatched", "approve")
    with pytest.raises(InvalidInput):
        allowed_actions("done")


def test_graph_shape() -> None:
    # The happy path runs through every non-cancelled state in order.
    state = NEW
    visited = []
    for action in HAPPY:
        state = transition(state, action)
        visited.append(state)
    assert visited == [s for s in STATES if s != "cancelled"]
    # Cancel is allowed exactly before closure.
    cancellable = {s for s in ALL_STATES if "cancel" in allowed_actions(s)}
    assert cancellable == set(STATES[: STATES.index("closed")])
    # Every state is reachable from new, and closed is reachable from every open state.
    reach = {NEW}
    frontier = [NEW]
    while frontier:
        s = frontier.pop()
        for a in allowed_actions(s):
            t = transition(s, a)
            if t not in reach:
                reach.add(t)
                frontier.append(t)
    assert reach == set(ALL_STATES)
    assert allowed_actions("evaluated") == allowed_actions("cancelled") == []


def test_roles() -> None:
    assert actions_for_role("worker") == ["report", "handle", "feedback"]
    assert actions_for_role("admin") == list(ACTIONS)
    assert actions_for_role("planner") == []
    assert actions_for_role("analyst") == ["evaluate"]
    assert set(ACTION_ROLES) == set(ACTIONS)
    assert all(set(r) <= set(ROLES) for r in ACTION_ROLES.values())
    check_role("worker", "feedback")
    check_role("admin", "dispatch")
    with pytest.raises(Forbidden) as info:
        check_role("worker", "dispatch")
    assert info.value.status_code == 403
    assert (
        info.value.message
        == "role worker may not dispatch events; it may: report, handle, feedback"
    )
    with pytest.raises(Forbidden, match="it may: nothing"):
        check_role("planner", "report")
    with pytest.raises(InvalidInput, match="unknown role"):
        check_role("resident", "report")


# --- replay ---------------------------------------------------------------------------

T0 = pd.Timestamp("2026-03-02 09:00", tz="Asia/Shanghai")


def _history(event_id: str, actions: list[str], minutes: list[int] | None = None) -> pd.DataFrame:
    minutes = minutes if minutes is not None else [10 * i for i in range(len(actions))]
    return pd.DataFrame(
        {
            "event_id": event_id,
            "seq": np.arange(1, len(actions) + 1),
            "action": actions,
            "at": [T0 + pd.Timedelta(minutes=m) for m in minutes],
        }
    )


def test_replay_full_histories_with_rework_and_defer() -> None:
    rework_twice = [
        "report", "verify", "register", "dispatch", "defer", "handle", "feedback", "rework",
        "handle", "feedback", "rework", "defer", "handle", "feedback", "check", "close", "evaluate",
    ]  # fmt: skip
    h = pd.concat(
        [
            _history("E3", ["report", "reject"]),
            _history("E1", HAPPY),
            _history("E2", rework_twice),
            _history("E4", ["report", "verify", "register", "dispatch", "cancel"]),
        ]
    )
    h["hours"] = np.where(h["action"] == "defer", 7.5, np.nan)
    h.loc[(h["event_id"] == "E2") & (h["action"] == "defer"), "hours"] = [4.0, 8.0]
    shuffled = h.sample(frac=1.0, random_state=3)
    before = shuffled.copy()
    out = replay(shuffled)
    pd.testing.assert_frame_equal(shuffled, before)

    assert out["event_id"].tolist() == ["E1", "E2", "E3", "E4"]
    assert out["state"].tolist() == ["evaluated", "evaluated", "cancelled", "cancelled"]
    assert out["valid"].all()
    assert out["steps"].tolist() == [9, 17, 2, 5]
    assert out["rework_count"].tolist() == [0, 2, 0, 0]
    assert out["defer_count"].tolist() == [0, 2, 0, 0]
    assert out["deferred_hours"].tolist() == [0.0, 12.0, 0.0, 0.0]
    assert out["error"].isna().all() and out["error_seq"].isna().all()
    e2 = out.set_index("event_id").loc["E2"]
    # Stage times: first dispatch; last pass of handle, feedback and check.
    assert e2["dispatched_at"] == T0 + pd.Timedelta(minutes=30)
    assert e2["handled_at"] == T0 + pd.Timedelta(minutes=120)
    assert e2["feedback_at"] == T0 + pd.Timedelta(minutes=130)
    assert e2["checked_at"] == T0 + pd.Timedelta(minutes=140)
    assert e2["closed_at"] == T0 + pd.Timedelta(minutes=150)
    assert pd.isna(e2["cancelled_at"])
    e3 = out.set_index("event_id").loc["E3"]
    assert e3["cancelled_at"] == T0 + pd.Timedelta(minutes=10)
    assert pd.isna(e3["verified_at"]) and pd.isna(e3["registered_at"])


def test_replay_stops_at_the_first_illegal_step() -> None:
    h = pd.concat(
        [
            # handle before dispatch: stops at seq 4, later legal-looking steps ignored
            _history("A", ["report", "verify", "register", "handle", "dispatch", "handle"]),
            # time goes backwards at seq 3
            _history("B", ["report", "verify", "register"], minutes=[0, 30, 20]),
            # cancel after closing
            _history("C", [*HAPPY[:8], "cancel"]),
            # no report first
            _history("D", ["verify"]),
        ]
    )
    out = replay(h).set_index("event_id")
    assert out.loc["A", "state"] == "registered"
    assert out.loc["A", "steps"] == 3
    assert out.loc["A", "error_seq"] == 4
    assert out.loc["A", "error_action"] == "handle"
    assert out.loc["A", "error"] == (
        "step 4: cannot handle an event that is registered; allowed: dispatch, cancel"
    )
    assert pd.isna(out.loc["A", "dispatched_at"])
    assert out.loc["B", "state"] == "verified"
    assert out.loc["B", "error_seq"] == 3
    assert "earlier than the previous step" in out.loc["B", "error"]
    assert out.loc["C", "state"] == "closed"
    assert out.loc["C", "error"].endswith(
        "cannot cancel an event that is closed; allowed: evaluate"
    )
    assert out.loc["D", "state"] == "new"
    assert out.loc["D", "steps"] == 0
    assert not out["valid"].any()


def test_replay_rejects_malformed_histories() -> None:
    good = _history("A", ["report", "verify"])
    with pytest.raises(InvalidInput, match="lacks column"):
        replay(good.drop(columns="at"))
    with pytest.raises(InvalidInput, match="unknown event action.*approve"):
        replay(_history("A", ["report", "approve"]))
    with pytest.raises(InvalidInput, match="event A repeats step seq 1"):
        replay(pd.concat([good, good.iloc[:1]]))
    bad_time = good.copy()
    bad_time["at"] = [T0, pd.NaT]
    with pytest.raises(InvalidInput, match="no time"):
        replay(bad_time)


def test_replay_of_empty_history() -> None:
    out = replay(_history("A", []).astype({"at": "datetime64[us, UTC]"}))
    assert len(out) == 0
    assert {"state", "valid", "closed_at", "error"} <= set(out.columns)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.sampled_from(ACTIONS), max_size=12), min_size=1, max_size=6))
def test_replay_agrees_with_stepwise_transitions(sequences: list[list[str]]) -> None:
    frames = [_history(f"E{i}", seq) for i, seq in enumerate(sequences)]
    out = replay(pd.concat(frames)).set_index("event_id")
    for i, seq in enumerate(sequences):
        if not seq:
            assert f"E{i}" not in out.index
            continue
        state, error_at = NEW, None
        for k, action in enumerate(seq, start=1):
            try:
                state = transition(state, action)
            except Conflict:
                error_at = k
                break
        row = out.loc[f"E{i}"]
        assert row["state"] == state
        assert row["valid"] == (error_at is None)
        if error_at is not None:
            assert row["error_seq"] == error_at
            assert row["error_action"] == seq[error_at - 1]
        applied = seq if error_at is None else seq[: error_at - 1]
        assert row["steps"] == len(applied)
        assert row["rework_count"] == applied.count("rework")
        assert row["defer_count"] == applied.count("defer")
