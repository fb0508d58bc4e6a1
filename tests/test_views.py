from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wallboard.views import MAX_SUBSCRIBE_BYTES, Selector, SubscribeError, apply_patch, diff, parse_subscribe, view_of

SNAP: dict[str, Any] = {
    "seq": 7,
    "generated_at": "2026-03-10T08:00:00.000Z",
    "now": 1.0,
    "day_start": 0.0,
    "timezone": "UTC",
    "windows": [15],
    "interval_s": 900,
    "queues": {
        "ventas": {"name": "Ventas", "waiting": 2, "intervals": [1, 2]},
        "soporte": {"waiting": 0, "intervals": []},
    },
    "centre": {"waiting": 2, "intervals": [3]},
    "teams": {"norte": {"name": "Norte", "queues": ["ventas"]}, "sur": {"name": "Sur", "queues": ["soporte"]}},
    "agents": {"ana": {"team": "norte", "state": "available"}, "luis": {"team": "sur", "state": "on_call"}},
    "screens": {"sala": {"waiting": 2}, "otra": {"waiting": 0}},
    "ticker": {"sala": "Reunión 12:00", "*": "Hola"},
    "sources": {"sim": {"stale": False}},
}


def test_team_view_has_only_its_team() -> None:
    v = view_of(SNAP, Selector("team", team="norte"))
    assert set(v["agents"]) == {"ana"}
    assert set(v["queues"]) == {"ventas"} and "intervals" not in v["queues"]["ventas"]
    assert v["team"]["name"] == "Norte" and v["seq"] == 7
    assert "teams" not in v and "screens" not in v


def test_wall_view_has_its_screens_and_tickers() -> None:
    v = view_of(SNAP, Selector("wall", screens=("sala",)))
    assert v["screens"] == {"sala": {"waiting": 2}}
    assert v["ticker"] == {"sala": "Reunión 12:00", "*": "Hola"}
    assert "agents" not in v
    assert v["queues"] == {}  # "sala" draws no queue by itself


def test_a_wall_view_has_the_queue_blocks_its_screens_draw_and_no_others() -> None:
    snap = {**SNAP, "screens": {"rows": {"waiting": 2, "detail": ["ventas"]}, "plain": {"waiting": 0}}}
    v = view_of(snap, Selector("wall", screens=("rows",)))
    assert v["queues"] == {"ventas": {"name": "Ventas", "waiting": 2}}  # without its intervals
    assert view_of(snap, Selector("wall", screens=("plain",)))["queues"] == {}
    assert "alerts" not in v  # the alert log is the manager's


def test_manager_view_has_every_queue_with_intervals() -> None:
    v = view_of(SNAP, Selector("manager"))
    assert v["queues"]["ventas"]["intervals"] == [1, 2] and v["centre"]["intervals"] == [3]


@pytest.mark.parametrize(
    "bad",
    [
        None,
        {"view": "tv"},
        {"view": "team"},
        {"view": "wall"},
        {"view": "wall", "screens": "sala"},
        {"view": "wall", "screens": list("x" * 30)},
    ],
)
def test_bad_subscriptions(bad: Any) -> None:
    with pytest.raises(ValueError):
        Selector.parse(bad)


def test_diff_sends_only_what_changed() -> None:
    old = {"seq": 1, "agents": {"ana": {"state": "available"}, "luis": {"state": "on_call"}}, "x": 1}
    new = {"seq": 2, "agents": {"ana": {"state": "on_call"}, "marta": {"state": "available"}}, "x": 1}
    changed, deleted = diff(old, new)
    assert changed == {"seq": 2, "agents": {"ana": {"state": "on_call"}, "marta": {"state": "available"}}}
    assert deleted == [["agents", "luis"]]
    assert apply_patch(old, changed, deleted) == new


json_leaf = st.none() | st.booleans() | st.integers() | st.text(max_size=3)
json_obj = st.dictionaries(
    st.text(max_size=2),
    st.recursive(json_leaf, lambda c: st.dictionaries(st.text(max_size=2), c, max_size=3), max_leaves=6),
    max_size=4,
)


@given(json_obj, json_obj)
def test_patch_round_trip(old: dict[str, Any], new: dict[str, Any]) -> None:
    changed, deleted = diff(old, new)
    assert apply_patch(old, changed, deleted) == new


def test_deep_changes_send_only_the_leaf() -> None:
    old = {"screens": {"sala": {"today": {"offered": 10, "asa_s": 9.5}, "waiting": 2}}}
    new = {"screens": {"sala": {"today": {"offered": 11, "asa_s": 9.5}, "waiting": 2}}}
    changed, deleted = diff(old, new)
    assert changed == {"screens": {"sala": {"today": {"offered": 11}}}} and deleted == []


@pytest.mark.parametrize(
    "message, code, reason",
    [
        ({"type": "websocket.receive", "bytes": b"\x00"}, 1003, "binary message"),
        ({"type": "websocket.receive", "text": "x" * (MAX_SUBSCRIBE_BYTES + 1)}, 1009, "message too large"),
        ({"type": "websocket.receive", "text": "é" * (MAX_SUBSCRIBE_BYTES // 2 + 1)}, 1009, "message too large"),
        ({"type": "websocket.receive", "text": "hello"}, 1008, "not JSON"),
        ({"type": "websocket.receive", "text": "[" * 2000 + "]" * 2000}, 1008, "not JSON"),
        ({"type": "websocket.receive", "text": "[1]"}, 1008, "not a subscribe message"),
        ({"type": "websocket.receive", "text": '{"subscribe": {"view": "tv"}}'}, 1008, "bad subscription"),
        (
            {"type": "websocket.receive", "text": '{"subscribe": {"view": "team", "team": ["x"]}}'},
            1008,
            "bad subscription",
        ),
    ],
)
def test_a_first_message_that_is_not_a_subscription_says_its_close_code(
    message: dict[str, Any], code: int, reason: str
) -> None:
    with pytest.raises(SubscribeError) as exc:
        parse_subscribe(message)
    assert (exc.value.code, exc.value.reason) == (code, reason)


def test_a_subscribe_message_gives_its_selector() -> None:
    text = '{"subscribe": {"view": "wall", "screens": ["sala", "otra"]}}'
    assert parse_subscribe({"type": "websocket.receive", "text": text}) == Selector("wall", ("sala", "otra"))
