"""The shared agent-state emitter: the events it makes, checked against what the fold makes of them."""

from __future__ import annotations

import itertools
import random

from wallboard.collectors.common.agents import AgentStates
from wallboard.config import parse_config
from wallboard.events import AgentLogin, AgentLogout, AgentState, AgentStateChanged, Event
from wallboard.fold import apply_all
from wallboard.fold_settings import FoldSettings
from wallboard.state import CentreState

T = 1773129600.0
CONFIG = parse_config(
    {"queues": [{"id": "ventas"}, {"id": "soporte"}], "agents": [{"id": "ana"}, {"id": "luis"}]}, env={}
)


def ids() -> itertools.count[int]:
    return itertools.count(1)


def board(events: list[Event]) -> dict[str, tuple[str, str, str, set[str]]]:
    """What the fold shows of each agent after ``events``."""
    state = CentreState()
    apply_all(state, FoldSettings.from_config(CONFIG), events)
    return {a: (s.state, s.reason, s.direction, set(s.queues)) for a, s in state.agents.items()}


def believed(states: AgentStates) -> dict[str, tuple[str, str, str, set[str]]]:
    return {a: (s.state.value, s.reason, s.direction, set(s.queues)) for a, s in states}


def test_a_login_makes_a_logged_out_agent_available_without_a_state_event() -> None:
    states = AgentStates("pbx")
    login = states.login("e1", T, "ana", "ventas")
    assert login == AgentLogin("e1", "pbx", T, "ana", "ventas")
    assert states["ana"].state is AgentState.AVAILABLE and states["ana"].logged_in
    assert states.show(lambda: "e2", T + 1, "ana", AgentState.AVAILABLE) is None  # the board shows it already


def test_a_login_keeps_the_state_of_an_agent_logged_in() -> None:
    states = AgentStates("pbx")
    states.login("e1", T, "ana", "ventas")
    states.show(lambda: "e2", T + 1, "ana", AgentState.NOT_READY, "lunch")
    states.login("e3", T + 2, "ana", "soporte")
    shown = states["ana"]
    assert (shown.state, shown.reason, shown.queues) == (AgentState.NOT_READY, "lunch", {"ventas", "soporte"})


def test_a_logout_from_the_last_queue_logs_out() -> None:
    states = AgentStates("pbx")
    states.login("e1", T, "ana", "ventas")
    states.login("e2", T, "ana", "soporte")
    assert states.logout("e3", T + 1, "ana", "ventas") == AgentLogout("e3", "pbx", T + 1, "ana", "ventas")
    assert states["ana"].logged_in
    states.logout("e4", T + 2, "ana", "soporte")
    assert states["ana"].state is AgentState.LOGGED_OUT
    states.login("e5", T + 3, "luis", "ventas")
    states.login("e6", T + 3, "luis", "soporte")
    states.logout("e7", T + 4, "luis")  # no queue named: every queue
    assert (states["luis"].state, states["luis"].queues) == (AgentState.LOGGED_OUT, set())


def test_a_state_is_sent_only_when_it_changes_and_its_id_is_taken_only_then() -> None:
    states = AgentStates("pbx")
    taken: list[str] = []

    def new_id() -> str:
        taken.append(f"e{len(taken) + 1}")
        return taken[-1]

    first = states.show(new_id, T, "ana", AgentState.ON_CALL, "", "inbound")
    assert first == AgentStateChanged("e1", "pbx", T, "ana", "on_call", "", "inbound")
    assert type(first.state) is str  # events carry plain text, as the wire has it
    assert states.show(new_id, T + 1, "ana", AgentState.ON_CALL, "", "inbound") is None
    assert states.show(new_id, T + 2, "ana", AgentState.NOT_READY, "lunch") is not None
    assert states.show(new_id, T + 3, "ana", AgentState.NOT_READY, "break") is not None  # another reason
    assert taken == ["e1", "e2", "e3"]


def test_carry_over_rebuilds_what_stands_in_a_fold_that_saw_nothing() -> None:
    states = AgentStates("pbx")
    sent: list[Event] = [
        states.login("e1", T, "ana", "ventas"),
        states.login("e2", T, "ana", "soporte"),
        states.login("e3", T, "luis", "ventas"),
    ]
    for event in (
        states.show(lambda: "e4", T + 1, "ana", AgentState.NOT_READY, "lunch"),
        states.show(lambda: "e5", T + 2, "luis", AgentState.ON_CALL, "", "inbound"),
    ):
        assert event is not None
        sent.append(event)
    sent.append(states.logout("e6", T + 3, "luis", "ventas"))
    carried = states.carry_over("pbx:carry", T + 10)
    assert [e.id for e in carried] == ["pbx:carry:ana:soporte", "pbx:carry:ana:ventas", "pbx:carry:ana"]
    assert {a: s[:2] for a, s in board(carried).items()} == {"ana": ("not_ready", "lunch")}
    assert board(carried)["ana"] == board(sent)["ana"]


def test_what_it_believes_is_what_the_fold_shows() -> None:
    """Random logins, logouts and states of two agents: after each event the emitter's belief is the board."""
    rng = random.Random(11)
    states = AgentStates("pbx")
    counter = ids()
    sent: list[Event] = []
    fold, settings = CentreState(), FoldSettings.from_config(CONFIG)
    for step in range(2_000):
        agent, ts = rng.choice(["ana", "luis"]), T + step
        roll = rng.random()
        event: Event | None
        if roll < 0.25:
            event = states.login(f"e{next(counter)}", ts, agent, rng.choice(["", "ventas", "soporte"]))
        elif roll < 0.45:
            event = states.logout(f"e{next(counter)}", ts, agent, rng.choice(["", "ventas", "soporte"]))
        else:
            state = rng.choice([s for s in AgentState if s is not AgentState.LOGGED_OUT])
            reason = rng.choice(["", "lunch"]) if state is AgentState.NOT_READY else ""
            direction = "inbound" if state in (AgentState.ON_CALL, AgentState.ON_HOLD) else ""
            event = states.show(lambda: f"e{next(counter)}", ts, agent, state, reason, direction)
        if event is not None:
            sent.append(event)
            assert apply_all(fold, settings, [event]) == 1  # (the fold took it)
        shown = {a: (s.state, s.reason, s.direction, set(s.queues)) for a, s in fold.agents.items()}
        for name, belief in believed(states).items():
            assert shown.get(name, ("logged_out", "", "", set())) == belief, f"step {step}"
    carried = states.carry_over("pbx:carry", T + 10_000)
    assert {a: s[:3] for a, s in board(carried).items() if s[0] != "logged_out"} == {
        a: s[:3] for a, s in board(sent).items() if s[0] != "logged_out"
    }


def test_a_forgotten_agent_is_sent_its_next_state_whatever_it_is() -> None:
    """After a restart the board may show anything: a login leaves it unknown, the next state is sent."""
    states = AgentStates("pbx")
    states.forget("ana")
    states.login("e1", T, "ana", "ventas")
    assert not states["ana"].known
    sent = states.show(lambda: "e2", T + 1, "ana", AgentState.AVAILABLE)  # the board may show ana anyhow
    assert sent == AgentStateChanged("e2", "pbx", T + 1, "ana", "available", "", "")
    assert states["ana"].known
    assert states.show(lambda: "e3", T + 2, "ana", AgentState.AVAILABLE) is None  # known again: not twice


def test_forget_takes_back_memberships_and_a_logout_from_the_last_logs_out() -> None:
    states = AgentStates("pbx")
    states.forget("ana", ["ventas", "soporte"])
    assert states["ana"].queues == {"ventas", "soporte"} and not states["ana"].known
    states.logout("e1", T, "ana", "ventas")
    assert not states["ana"].known  # still in soporte: the state is still unknown
    states.logout("e2", T + 1, "ana", "soporte")
    assert (states["ana"].state, states["ana"].known) == (AgentState.LOGGED_OUT, True)
    states.login("e3", T + 2, "ana", "ventas")
    assert states.show(lambda: "e4", T + 3, "ana", AgentState.AVAILABLE) is None  # the login made it available


def test_forget_keeps_the_state_this_source_has_shown() -> None:
    states = AgentStates("pbx")
    states.login("e1", T, "ana", "ventas")
    states.show(lambda: "e2", T + 1, "ana", AgentState.NOT_READY, "lunch")
    states.forget("ana", ["soporte"])  # what it sent last is the newest the board has
    assert states["ana"].known and states["ana"].queues == {"ventas", "soporte"}
    assert states.show(lambda: "e3", T + 2, "ana", AgentState.NOT_READY, "lunch") is None


def test_an_agent_of_unknown_state_carries_over_only_its_logins() -> None:
    states = AgentStates("pbx")
    states.forget("ana", ["ventas"])
    assert [e.id for e in states.carry_over("pbx:carry", T)] == ["pbx:carry:ana:ventas"]


def test_assume_logged_out_sends_nothing_and_a_login_then_makes_the_agent_available() -> None:
    states = AgentStates("pbx")
    states.forget("ana")
    states.assume_logged_out("ana")
    assert (states["ana"].state, states["ana"].known) == (AgentState.LOGGED_OUT, True)
    states.login("e1", T, "ana", "ventas")
    assert states.show(lambda: "e2", T + 1, "ana", AgentState.AVAILABLE) is None
