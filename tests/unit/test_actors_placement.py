"""The turn placement policy: inline until two over-budget turns in a row or one timeout."""

from __future__ import annotations

from edgewise.host.actors.placement import TurnPlacement

BUDGET_S = 0.002


def test_actors_start_inline() -> None:
    assert TurnPlacement(BUDGET_S).runs_inline("a")


def test_one_slow_turn_alone_is_forgiven() -> None:
    placement = TurnPlacement(BUDGET_S)
    placement.turn_ran("a", 0.010)
    placement.turn_ran("a", 0.0001)
    placement.turn_ran("a", 0.010)
    assert placement.runs_inline("a")


def test_two_slow_turns_in_a_row_move_the_actor_to_the_pool() -> None:
    placement = TurnPlacement(BUDGET_S)
    placement.turn_ran("a", 0.010)
    placement.turn_ran("a", 0.010)
    assert not placement.runs_inline("a")
    assert placement.runs_inline("b")


def test_a_timeout_moves_the_actor_at_once_and_forget_brings_it_back() -> None:
    placement = TurnPlacement(BUDGET_S)
    placement.turn_timed_out("a")
    assert not placement.runs_inline("a")
    placement.forget("a")
    assert placement.runs_inline("a")


def test_a_zero_budget_sends_every_turn_to_the_pool() -> None:
    assert not TurnPlacement(0.0).runs_inline("a")
