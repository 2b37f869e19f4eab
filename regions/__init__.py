"""Regions: topology, the directory, routing between nodes and live migration (DESIGN.md §7).

- ``topology``: the cluster file (regions, their location and endpoints, nodes).
- ``directory`` / ``directory_nats``: ``(name, key) -> actor_id`` and ``actor_id -> (region,
  node, epoch)``, changed by compare-and-set; ``LocalDirectory`` (RocksDB), ``NatsDirectory``
  (JetStream KV).
- ``router`` and ``forward``: where an actor lives, and forwarding to its owner.
- ``migration/``: the live-migration protocol (sans-IO) and its coordinator.
- ``follow``: follow-the-user, sans-IO.
- ``cluster``: a node joining its cluster; ``nats_cluster``, ``latency`` and ``demo``: regions
  on one machine for tests, benchmarks and ``edgewise regions demo``.
"""
