"""The lifecycle of one actor on this node, as a transition table (sans-IO).

An actor with no activation is ``sleeping``. A turn for it asks for an activation
(``activating``); once an instance is ready it is ``active``. An idle timeout or a guest asking
to sleep drains it back to ``sleeping``. A guest fault makes it ``failed`` until the next turn
activates it again. ``migrating_out`` is reserved for moving an actor to another region, and
``destroyed`` is final. Any move not in the table raises ``IllegalTransition`` naming the state,
the event and the actor.
"""

from __future__ import annotations

from enum import Enum

from edgewise.host.errors import IllegalTransition


class ActorState(Enum):
    SLEEPING = "sleeping"
    ACTIVATING = "activating"
    ACTIVE = "active"
    DRAINING = "draining"
    MIGRATING_OUT = "migrating_out"
    FAILED = "failed"
    DESTROYED = "destroyed"


class LifecycleEvent(Enum):
    ACTIVATION_REQUESTED = "activation_requested"
    ACTIVATION_SUCCEEDED = "activation_succeeded"
    ACTIVATION_FAILED = "activation_failed"
    TURN_FAULTED = "turn_faulted"
    IDLE_TIMEOUT_REACHED = "idle_timeout_reached"
    SLEEP_REQUESTED = "sleep_requested"
    DRAIN_COMPLETED = "drain_completed"
    DESTROY_REQUESTED = "destroy_requested"
    MIGRATION_STARTED = "migration_started"
    MIGRATION_ABORTED = "migration_aborted"
    MIGRATION_COMPLETED = "migration_completed"


S = ActorState
E = LifecycleEvent

TRANSITIONS: dict[tuple[ActorState, LifecycleEvent], ActorState] = {
    (S.SLEEPING, E.ACTIVATION_REQUESTED): S.ACTIVATING,
    (S.SLEEPING, E.DESTROY_REQUESTED): S.DESTROYED,
    (S.ACTIVATING, E.ACTIVATION_SUCCEEDED): S.ACTIVE,
    (S.ACTIVATING, E.ACTIVATION_FAILED): S.FAILED,
    (S.ACTIVATING, E.DESTROY_REQUESTED): S.DESTROYED,
    (S.ACTIVE, E.TURN_FAULTED): S.FAILED,
    (S.ACTIVE, E.IDLE_TIMEOUT_REACHED): S.DRAINING,
    (S.ACTIVE, E.SLEEP_REQUESTED): S.DRAINING,
    (S.ACTIVE, E.DESTROY_REQUESTED): S.DESTROYED,
    (S.ACTIVE, E.MIGRATION_STARTED): S.MIGRATING_OUT,
    (S.DRAINING, E.DRAIN_COMPLETED): S.SLEEPING,
    (S.DRAINING, E.DESTROY_REQUESTED): S.DESTROYED,
    (S.FAILED, E.ACTIVATION_REQUESTED): S.ACTIVATING,
    (S.FAILED, E.IDLE_TIMEOUT_REACHED): S.DRAINING,
    (S.FAILED, E.DESTROY_REQUESTED): S.DESTROYED,
    (S.MIGRATING_OUT, E.MIGRATION_ABORTED): S.ACTIVE,
    (S.MIGRATING_OUT, E.MIGRATION_COMPLETED): S.DESTROYED,
}


class Lifecycle:
    """The current state of one actor and the time (ms) it entered it."""

    def __init__(self, actor_id: str, now_ms: int, state: ActorState = ActorState.SLEEPING):
        self.actor_id = actor_id
        self.state = state
        self.since_ms = now_ms

    def apply(self, event: LifecycleEvent, now_ms: int) -> ActorState:
        """Move along the table; raise ``IllegalTransition`` if the move is not in it."""
        target = TRANSITIONS.get((self.state, event))
        if target is None:
            raise IllegalTransition(
                f"actor {self.actor_id}: event {event.value} is not allowed "
                f"in state {self.state.value}"
            )
        self.state = target
        self.since_ms = now_ms
        return target

    def allows(self, event: LifecycleEvent) -> bool:
        return (self.state, event) in TRANSITIONS
