"""The actor lifecycle transition table, move by move."""

from __future__ import annotations

import itertools

import pytest
from edgewise.host.actors.lifecycle import (
    TRANSITIONS,
    ActorState,
    Lifecycle,
    LifecycleEvent,
)
from edgewise.host.errors import HostFault, IllegalTransition

S = ActorState
E = LifecycleEvent
ACTOR = "0123456789abcdef0123456789abcdef"


def test_a_new_lifecycle_is_sleeping() -> None:
    life = Lifecycle(ACTOR, now_ms=5)
    assert life.state is S.SLEEPING
    assert life.since_ms == 5


def test_sleep_wake_cycle() -> None:
    life = Lifecycle(ACTOR, now_ms=0)
    steps = [
        (E.ACTIVATION_REQUESTED, S.ACTIVATING),
        (E.ACTIVATION_SUCCEEDED, S.ACTIVE),
        (E.IDLE_TIMEOUT_REACHED, S.DRAINING),
        (E.DRAIN_COMPLETED, S.SLEEPING),
        (E.ACTIVATION_REQUESTED, S.ACTIVATING),
        (E.ACTIVATION_SUCCEEDED, S.ACTIVE),
        (E.SLEEP_REQUESTED, S.DRAINING),
        (E.DRAIN_COMPLETED, S.SLEEPING),
    ]
    for now, (event, expected) in enumerate(steps, start=1):
        assert life.apply(event, now) is expected
        assert life.since_ms == now


def test_a_fault_fails_the_actor_and_the_next_activation_recovers() -> None:
    life = Lifecycle(ACTOR, now_ms=0, state=S.ACTIVE)
    assert life.apply(E.TURN_FAULTED, 1) is S.FAILED
    assert life.apply(E.ACTIVATION_REQUESTED, 2) is S.ACTIVATING
    assert life.apply(E.ACTIVATION_FAILED, 3) is S.FAILED
    assert life.apply(E.IDLE_TIMEOUT_REACHED, 4) is S.DRAINING


@pytest.mark.parametrize("state", [S.SLEEPING, S.ACTIVATING, S.ACTIVE, S.DRAINING, S.FAILED])
def test_destroy_is_reachable_from_every_live_state(state: ActorState) -> None:
    life = Lifecycle(ACTOR, now_ms=0, state=state)
    assert life.apply(E.DESTROY_REQUESTED, 1) is S.DESTROYED


def test_migration_aborts_back_to_active_or_completes() -> None:
    life = Lifecycle(ACTOR, now_ms=0, state=S.ACTIVE)
    assert life.apply(E.MIGRATION_STARTED, 1) is S.MIGRATING_OUT
    assert life.apply(E.MIGRATION_ABORTED, 2) is S.ACTIVE
    life.apply(E.MIGRATION_STARTED, 3)
    assert life.apply(E.MIGRATION_COMPLETED, 4) is S.DESTROYED


def test_destroyed_is_final() -> None:
    life = Lifecycle(ACTOR, now_ms=0, state=S.DESTROYED)
    for event in E:
        assert not life.allows(event)


@pytest.mark.parametrize(
    ("state", "event"),
    [pair for pair in itertools.product(ActorState, LifecycleEvent) if pair not in TRANSITIONS],
)
def test_every_move_outside_the_table_is_refused(state: ActorState, event: LifecycleEvent) -> None:
    life = Lifecycle(ACTOR, now_ms=7, state=state)
    with pytest.raises(IllegalTransition) as caught:
        life.apply(event, 8)
    error = caught.value
    assert isinstance(error, HostFault)
    assert error.code == "state.illegal_transition"
    assert state.value in error.message
    assert event.value in error.message
    assert ACTOR in error.message
    assert life.state is state
    assert life.since_ms == 7


def test_allows_agrees_with_the_table() -> None:
    for state, event in itertools.product(ActorState, LifecycleEvent):
        life = Lifecycle(ACTOR, now_ms=0, state=state)
        assert life.allows(event) == ((state, event) in TRANSITIONS)
