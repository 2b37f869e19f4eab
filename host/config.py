"""Node configuration: frozen dataclasses loaded from TOML, units in field names.

A node's TOML file has one table per dataclass below (``[node]``, ``[limits]``, ``[storage]``,
``[actors]``, ``[http3]``, ``[follow]``); every field has a documented default, so an empty file
is a valid dev config (``edgewise serve`` additionally refuses to start without
``node.admin_token``). Unknown keys and wrong types are refused with ``config.invalid`` naming
the table and the key.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgewise.host.errors import ConfigInvalid


@dataclass(frozen=True)
class NodeConfig:
    host: str = "127.0.0.1"
    """Address to listen on."""
    port: int = 6420
    """TCP port of the HTTP/1.1 + WebSocket API (0 picks a free one)."""
    data_dir: str = ".edgewise"
    """RocksDB, module cache and deployed modules live here."""
    node_id: str = "local"
    """This node's name, reported by /v1/health."""
    region: str = "local"
    """This node's region name."""
    admin_token: str = ""
    """Bearer token for admin routes (deploy, destroy). Empty: admin routes are open (dev only)."""
    log_level: str = "info"
    cluster_file: str = ""
    """A cluster file (regions, their nodes and NATS servers; see ``regions/topology.py``) this
    node joins under its ``node_id``; its region then comes from that file. Empty: on its own."""
    """debug, info, warning or error; guest logs go to the logger edgewise.guest."""


@dataclass(frozen=True)
class LimitsConfig:
    max_memory_bytes: int = 64 * 1024 * 1024
    """Linear memory per actor instance."""
    turn_timeout_ms: int = 100
    """CPU time per turn before the guest is interrupted (epoch deadline)."""
    max_value_bytes: int = 1024 * 1024
    """Largest KV value a guest may write."""
    max_key_bytes: int = 512
    """Largest KV key a guest may write."""
    max_message_bytes: int = 1024 * 1024
    """Largest request body, WebSocket frame, turn result or event payload."""
    max_actor_key_parts: int = 16
    """Most strings in an actor key."""
    max_actor_key_bytes: int = 1024
    """Most UTF-8 bytes in an actor key, all parts together."""
    max_module_bytes: int = 64 * 1024 * 1024
    """Largest module upload."""


@dataclass(frozen=True)
class StorageConfig:
    commit_window_ms: float = 0.0
    """How long the group commit waits for more write sets before one fsync. 0 still groups: write
    sets that arrive while an fsync runs go into the next batch together (measured 2.8k durable
    commits/s for one committer, 61k/s for 100, against 540/s and 23k/s with a 1 ms window)."""
    sync: bool = True
    """fsync every group commit (false only for throwaway benchmarks)."""


@dataclass(frozen=True)
class ActorsConfig:
    idle_timeout_s: float = 30.0
    """An actor with no turn for this long goes to sleep and frees its memory."""
    connect_timeout_s: float = 10.0
    """A WebSocket must send its connect frame within this time."""
    alarm_retry_base_s: float = 1.0
    """First retry delay of a failed alarm; doubles each retry."""
    alarm_retry_max_s: float = 60.0
    """Longest retry delay of a failed alarm."""
    alarm_max_attempts: int = 10
    """An alarm that failed this many times is dropped (and logged)."""
    mailbox_capacity: int = 1000
    """Turns waiting per actor before new ones are refused with actor.overloaded."""
    inline_turn_budget_ms: float = 2.0
    """Turns run on the event loop's thread (no thread hop) while they use less CPU time than
    this. An actor with two such turns in a row, or one timeout, runs its later turns in the
    worker pool, where wasm runs without the GIL and cannot stall the node. 0: always the pool."""


@dataclass(frozen=True)
class Http3Config:
    enabled: bool = True
    """Serve HTTP/3 on the HTTP port number over UDP, advertised by ``Alt-Svc``."""
    certificate_path: str = ""
    """PEM certificate chain; with ``private_key_path``. Neither set: a self-signed certificate
    for localhost is made once and kept in ``DATA_DIR/tls/`` (fine for dev, not for clients
    that verify against public roots)."""
    private_key_path: str = ""
    """PEM private key of the certificate."""
    max_concurrent_requests: int = 100
    """Request streams one QUIC connection may have open at once; more are refused with a stream
    reset (H3_REQUEST_REJECTED)."""
    request_timeout_s: float = 30.0
    """How long a request body may take to arrive in full before ``request.timeout`` (408)."""
    idle_timeout_s: float = 60.0
    """A QUIC connection with no traffic for this long is closed."""
    max_header_bytes: int = 16384
    """Total size of one request's header names and values; past it, 431 ``request.too_large``."""


@dataclass(frozen=True)
class FollowConfig:
    """Follow-the-user: move an actor to the region most of its calls come from (in a cluster).

    A call's region is the one its client says (``edgewise-client-region``, which the Python
    client sends once it knows its nearest region), else the region of the node that forwarded
    it, else this node's."""

    enabled: bool = False
    window_s: float = 30.0
    """Calls older than this are forgotten."""
    min_calls: int = 20
    """No move on fewer calls than this in the window."""
    share: float = 0.6
    """The other region needs at least this share of the window's calls (more than half, so
    that two regions cannot pull an actor back and forth)."""
    cooldown_s: float = 300.0
    """After a move (or a failed attempt), the actor stays put at least this long."""


@dataclass(frozen=True)
class Config:
    node: NodeConfig = field(default_factory=NodeConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    actors: ActorsConfig = field(default_factory=ActorsConfig)
    http3: Http3Config = field(default_factory=Http3Config)
    follow: FollowConfig = field(default_factory=FollowConfig)

    @property
    def data_path(self) -> Path:
        return Path(self.node.data_dir)


LOG_LEVELS = ("debug", "info", "warning", "error")

_TABLES: dict[str, type[Any]] = {
    "node": NodeConfig,
    "limits": LimitsConfig,
    "storage": StorageConfig,
    "actors": ActorsConfig,
    "http3": Http3Config,
    "follow": FollowConfig,
}


def _build_table(name: str, cls: type[Any], raw: object) -> Any:
    if not isinstance(raw, dict):
        raise ConfigInvalid(f"[{name}] must be a table")
    fields = {f.name for f in dataclasses.fields(cls)}
    defaults = cls()
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in fields:
            raise ConfigInvalid(f"[{name}] has unknown key {key!r}")
        expected = type(getattr(defaults, key))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not expected:
            raise ConfigInvalid(
                f"[{name}] {key} must be {expected.__name__}, got {type(value).__name__}"
            )
        if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
            raise ConfigInvalid(f"[{name}] {key} must not be negative")
        if key == "share" and not 0.5 < value <= 1.0:
            raise ConfigInvalid(f"[{name}] share must be more than 0.5 and at most 1")
        if key == "log_level" and value not in LOG_LEVELS:
            raise ConfigInvalid(f"[{name}] log_level must be one of {', '.join(LOG_LEVELS)}")
        values[key] = value
    return cls(**values)


def config_from_dict(raw: dict[str, Any]) -> Config:
    unknown = set(raw) - set(_TABLES)
    if unknown:
        raise ConfigInvalid(f"unknown table [{sorted(unknown)[0]}]")
    parts = {name: _build_table(name, cls, raw.get(name, {})) for name, cls in _TABLES.items()}
    return Config(**parts)


def load_config(path: Path) -> Config:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigInvalid(f"config file {path} not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigInvalid(f"config file {path} is not valid TOML: {exc}") from None
    return config_from_dict(raw)
