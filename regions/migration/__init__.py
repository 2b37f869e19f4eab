"""Live migration of an actor between nodes: the sans-IO protocol (``protocol.py``) and the
coordinator that carries it out over node-to-node HTTP (``coordinator.py``)."""
