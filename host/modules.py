"""The node's module registry: which compiled module runs each actor name.

A deployed module is stored once as ``data_dir/modules/<sha256>.wasm``; what the build of a
deployment knew (language, actions) is kept in ``<name>.json`` with the digest it belongs to (a
name is at most 63 characters, so it never clashes with a digest); the store keeps the
deployments (name -> digest), committed like any write. Deploying validates the bytes through
``Sandbox.load`` (``module.invalid``) before anything is written. On open, every deployment is
loaded again (the sandbox's cache makes that a deserialize, not a compile). A redeploy only
changes what new activations get; running activations keep the module they started with.
"""

from __future__ import annotations

import asyncio
import json
import re
from concurrent.futures import Executor
from pathlib import Path

from edgewise.host.actors.storage_gate import commit, storage_errors
from edgewise.host.errors import ClientFault, HostFault, ModuleInvalid, ModuleNotFound
from edgewise.host.manifest import Manifest
from edgewise.host.sandbox import GuestModule, Sandbox
from edgewise.host.sandbox.cache import write_atomically
from edgewise.storage import Store

MODULE_NAME = re.compile(r"[a-z][a-z0-9_-]{0,62}")
ABI_VERSION = 1
NODE_WRITE_SET = ""  # the store's node-level write set: deployments only


def validate_module_name(name: object) -> str:
    if not isinstance(name, str) or not MODULE_NAME.fullmatch(name):
        raise ClientFault(
            f"module name {name!r} must match [a-z][a-z0-9_-]{{0,62}}",
            code="module.name_invalid",
        )
    return name


class ModuleRegistry:
    def __init__(self, sandbox: Sandbox, store: Store, directory: Path) -> None:
        self._sandbox = sandbox
        self._store = store
        self._directory = directory
        self._modules: dict[str, GuestModule] = {}
        self._manifests: dict[str, Manifest] = {}

    def load_all(self) -> None:
        """Load every deployed module (startup)."""
        self._directory.mkdir(parents=True, exist_ok=True)
        with storage_errors():
            deployments = self._store.deployments()
        for name, digest in sorted(deployments.items()):
            path = self._directory / f"{digest}.wasm"
            try:
                wasm = path.read_bytes()
            except OSError as error:
                raise HostFault(f"module file of {name!r} is unreadable: {error}") from None
            language, actions = _read_build_facts(self._directory / f"{name}.json", digest)
            self._install(name, self._sandbox.load(wasm), len(wasm), language, actions)

    async def deploy(
        self,
        wasm: bytes,
        name: str,
        executor: Executor,
        language: str = "unknown",
        actions: tuple[str, ...] | None = None,
    ) -> Manifest:
        validate_module_name(name)
        if not isinstance(wasm, bytes | bytearray) or not wasm:
            raise ModuleInvalid("module is empty")
        wasm = bytes(wasm)
        loop = asyncio.get_running_loop()
        module = await loop.run_in_executor(executor, self._sandbox.load, wasm)
        facts = {"sha256": module.digest, "language": language, "actions": actions}
        files = {
            self._directory / f"{module.digest}.wasm": wasm,
            self._directory / f"{name}.json": json.dumps(facts).encode(),
        }
        try:
            await loop.run_in_executor(executor, _write_files, files)
        except OSError as error:
            raise HostFault(f"cannot store module {name!r}: {error}") from None
        with storage_errors():
            ws = self._store.write_set(NODE_WRITE_SET)
            ws.set_deployment(name, module.digest)
        await commit(self._store, ws)
        return self._install(name, module, len(wasm), language, actions)

    def module(self, name: str) -> GuestModule:
        module = self._modules.get(name)
        if module is None:
            raise ModuleNotFound(f"no module named {name!r} is deployed")
        return module

    def manifests(self) -> list[Manifest]:
        return [self._manifests[name] for name in sorted(self._manifests)]

    def _install(
        self,
        name: str,
        module: GuestModule,
        size_bytes: int,
        language: str,
        actions: tuple[str, ...] | None,
    ) -> Manifest:
        manifest = Manifest(
            name=name,
            abi_version=ABI_VERSION,
            language=language,
            actions=actions,
            sha256=module.digest,
            size_bytes=size_bytes,
        )
        self._modules[name] = module
        self._manifests[name] = manifest
        return manifest


def _write_files(files: dict[Path, bytes]) -> None:
    """Write each file durably and atomically, in order: a reader never sees half a module."""
    for path, data in files.items():
        write_atomically(path, data, durable=True)


def _read_build_facts(path: Path, digest: str) -> tuple[str, tuple[str, ...] | None]:
    """The language and actions kept for a deployment; unknown when missing, bad or stale."""
    try:
        facts = json.loads(path.read_bytes())
        language, actions = facts["language"], facts["actions"]
        if facts["sha256"] != digest:
            return "unknown", None
    except (OSError, ValueError, KeyError, TypeError):
        return "unknown", None
    if not isinstance(language, str):
        language = "unknown"
    if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
        return language, None
    return language, tuple(actions)
