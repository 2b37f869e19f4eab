"""The group-commit window as a sans-IO state machine (no event loop, explicit `now`)."""

from __future__ import annotations

import pytest
from edgewise.storage.errors import CommitStateInvalid
from edgewise.storage.groupcommit import CommitState, Flush, GroupCommit, Idle, WaitUntil


def test_idle_until_something_is_submitted() -> None:
    window: GroupCommit[str] = GroupCommit(window_s=0.001)
    assert window.poll(now=10.0) == Idle()
    assert window.state is CommitState.IDLE


def test_window_collects_then_flushes_everything_in_order() -> None:
    window: GroupCommit[str] = GroupCommit(window_s=0.002)
    window.submit("a", now=10.0)
    window.submit("b", now=10.001)
    assert window.poll(now=10.001) == WaitUntil(10.002)
    window.submit("c", now=10.0015)
    assert window.poll(now=10.002) == Flush(("a", "b", "c"))
    assert window.state is CommitState.FLUSHING
    window.finish()
    assert window.poll(now=10.01) == Idle()


def test_next_group_collects_while_one_flushes() -> None:
    window: GroupCommit[int] = GroupCommit(window_s=0.001)
    window.submit(1, now=0.0)
    assert window.poll(now=0.001) == Flush((1,))
    window.submit(2, now=0.0012)
    window.submit(3, now=0.0013)
    assert window.pending == 2
    window.finish()
    assert window.state is CommitState.COLLECTING
    assert window.poll(now=0.005) == Flush((2, 3))


def test_zero_window_flushes_at_first_poll() -> None:
    window: GroupCommit[int] = GroupCommit(window_s=0.0)
    window.submit(1, now=5.0)
    assert window.poll(now=5.0) == Flush((1,))


def test_full_group_flushes_before_its_window_and_the_rest_follows() -> None:
    window: GroupCommit[int] = GroupCommit(window_s=10.0, max_items=3)
    for item in range(5):
        window.submit(item, now=0.0)
    assert window.poll(now=0.0) == Flush((0, 1, 2))
    window.finish()
    assert window.poll(now=0.0) == WaitUntil(10.0)
    assert window.poll(now=10.0) == Flush((3, 4))


@pytest.mark.parametrize(
    ("setup", "event"),
    [
        ("idle", "finish"),
        ("collecting", "finish"),
        ("flushing", "poll"),
    ],
)
def test_illegal_moves_name_state_and_event(setup: str, event: str) -> None:
    window: GroupCommit[int] = GroupCommit(window_s=0.0)
    if setup != "idle":
        window.submit(1, now=0.0)
    if setup == "flushing":
        window.poll(now=0.0)
    with pytest.raises(CommitStateInvalid) as caught:
        window.finish() if event == "finish" else window.poll(now=1.0)
    assert setup in caught.value.message and event in caught.value.message


def test_drain_takes_waiting_items_but_not_the_flushing_batch() -> None:
    window: GroupCommit[int] = GroupCommit(window_s=0.0)
    window.submit(1, now=0.0)
    window.poll(now=0.0)
    window.submit(2, now=0.0)
    assert window.drain() == [2]
    window.finish()
    assert window.state is CommitState.IDLE


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        GroupCommit(window_s=-1.0)
    with pytest.raises(ValueError):
        GroupCommit(window_s=0.0, max_items=0)
