"""Follow-the-user's decisions (window, majority, minimum, cooldown) and the cluster file's
checks, without I/O."""

from __future__ import annotations

from typing import Any

import pytest
from edgewise.host.config import FollowConfig
from edgewise.regions.errors import RegionUnknown, TopologyInvalid
from edgewise.regions.follow import FollowPolicy
from edgewise.regions.topology import topology_from_dict

CONFIG = FollowConfig(enabled=True, window_s=10.0, min_calls=5, share=0.6, cooldown_s=30.0)


def calls(policy: FollowPolicy, regions: str, start: float = 0.0) -> None:
    for i, region in enumerate(regions.split()):
        policy.observe("a", region, start + i * 0.1)


def test_a_clear_majority_elsewhere_moves_the_actor() -> None:
    policy = FollowPolicy(CONFIG)
    calls(policy, "us us us eu us")
    assert policy.decide("a", "eu", 1.0) == "us"


@pytest.mark.parametrize(
    "regions",
    ["us us us us", "us eu us eu us eu", "eu eu eu eu eu us"],
    ids=["too-few", "no-majority", "home-majority"],
)
def test_no_move_without_enough_calls_from_elsewhere(regions: str) -> None:
    policy = FollowPolicy(CONFIG)
    calls(policy, regions)
    assert policy.decide("a", "eu", 1.0) is None


def test_old_calls_leave_the_window_and_a_move_starts_a_cooldown() -> None:
    policy = FollowPolicy(CONFIG)
    calls(policy, "us us us us us")
    assert policy.decide("a", "eu", 100.0) is None  # all of them older than the window
    calls(policy, "us us us us us", start=100.0)
    assert policy.decide("a", "eu", 101.0) == "us"
    policy.moving("a", 101.0)
    calls(policy, "eu eu eu eu eu eu", start=102.0)
    assert policy.decide("a", "us", 103.0) is None  # no ping-pong: cooling down
    calls(policy, "eu eu eu eu eu eu", start=132.0)
    assert policy.decide("a", "us", 133.0) == "eu"


def test_a_disabled_policy_never_moves() -> None:
    policy = FollowPolicy(FollowConfig())
    calls(policy, "us us us us us us us")
    assert policy.decide("a", "eu", 1.0) is None


def cluster(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "regions": {
            "eu": {"latitude": 48.8, "longitude": 2.3, "http_url": "http://127.0.0.1:1"},
            "us": {"latitude": 40.7, "longitude": -74.0, "http_url": "http://127.0.0.1:2",
                   "nats_urls": ["nats://127.0.0.1:4222"]},
        },
        "nodes": {"eu-1": {"region": "eu", "url": "http://127.0.0.1:1"}},
        "cluster": {"secret": "s" * 20},
    }  # fmt: skip
    for table, value in changes.items():
        raw[table] = value
    return raw


def test_a_good_cluster_file() -> None:
    topology = topology_from_dict(cluster())
    assert set(topology.regions) == {"eu", "us"}
    assert topology.node("eu-1").region == "eu"
    assert [n.node_id for n in topology.nodes_of("eu")] == ["eu-1"]
    assert 5800 < topology.distance_km("eu", "us") < 5900
    with pytest.raises(RegionUnknown, match="known: eu, us"):
        topology.region("mars")


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"planets": {}}, "unknown table"),
        ({"nodes": {}}, "at least one region and one node"),
        ({"nodes": {"x-1": {"region": "mars", "url": "http://h"}}}, "not in [regions]"),
        ({"nodes": {"x-1": {"region": "eu", "url": "ftp://h"}}}, "http:// or https://"),
        ({"nodes": {"X_1": {"region": "eu", "url": "http://h"}}}, "names are"),
        (
            {"regions": {"eu": {"latitude": 91, "longitude": 0, "http_url": "http://h"}}},
            "out of range",
        ),
        (
            {"regions": {"eu": {"latitude": "north", "longitude": 0, "http_url": "http://h"}}},
            "wrong type",
        ),
        ({"cluster": {"secret": "short"}}, "secret of at least 16"),
    ],
)
def test_bad_cluster_files_are_refused(changes: dict[str, Any], words: str) -> None:
    with pytest.raises(TopologyInvalid) as info:
        topology_from_dict(cluster(**changes))
    assert words in info.value.message and info.value.code == "topology.invalid"
