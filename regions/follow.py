"""Follow-the-user, sans-IO: where an actor's calls come from, and when to move it there.

``observe`` records the region of each call (with ``now``); ``decide`` answers the region to
move the actor to, or None: only when the window holds at least ``min_calls`` calls, another
region has at least ``share`` (> 1/2) of them, and the actor has not moved (or tried to) within
``cooldown_s``. The majority rule and the cooldown are the hysteresis: an actor used evenly from
two regions stays where it is, and one that moved cannot be pulled back at once. Memory is bounded:
``MAX_CALLS`` remembered calls per actor, ``MAX_ACTORS`` actors (the least recently seen go).
"""

from __future__ import annotations

from collections import Counter, OrderedDict, deque

from edgewise.host.config import FollowConfig

MAX_CALLS = 1000
MAX_ACTORS = 10_000


class FollowPolicy:
    def __init__(self, config: FollowConfig) -> None:
        self.config = config
        self._calls: OrderedDict[str, deque[tuple[float, str]]] = OrderedDict()
        self._last_move: dict[str, float] = {}

    def observe(self, actor_id: str, region: str, now: float) -> None:
        calls = self._calls.pop(actor_id, None)
        if calls is None:
            calls = deque(maxlen=MAX_CALLS)
        calls.append((now, region))
        self._calls[actor_id] = calls
        while len(self._calls) > MAX_ACTORS:
            forgotten, _ = self._calls.popitem(last=False)
            self._last_move.pop(forgotten, None)

    def decide(self, actor_id: str, home: str, now: float) -> str | None:
        config = self.config
        if not config.enabled:
            return None
        if now - self._last_move.get(actor_id, -config.cooldown_s) < config.cooldown_s:
            return None
        calls = self._calls.get(actor_id)
        if not calls:
            return None
        while calls and now - calls[0][0] > config.window_s:
            calls.popleft()
        if len(calls) < config.min_calls:
            return None
        region, count = Counter(region for _, region in calls).most_common(1)[0]
        if region == home or count < config.share * len(calls):
            return None
        return region

    def moving(self, actor_id: str, now: float) -> None:
        """A move starts (whatever its outcome): the cooldown begins, the window restarts."""
        self._last_move[actor_id] = now
        self._calls.pop(actor_id, None)
