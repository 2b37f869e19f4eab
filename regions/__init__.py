"""Regions: topology, the directory, routing between nodes and live migration (DESIGN.md §7).

- ``topology``: the cluster file (regions, their location and endpoints, nodes).
- ``directory``: ``(name, key) -> actor_id`` and ``actor_id -> (region, node, epoch)``, changed by
  compare-and-set; ``LocalDirectory`` (RocksDB) and ``NatsDirectory`` (JetStream KV).
- ``nats_cluster``: a NATS super-cluster on 127.0.0.1 for tests and demos.
"""
