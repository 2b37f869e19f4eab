"""`edgewise deploy` and `edgewise actors ...`: commands that talk to a running node.

They are thin: each opens an `edgewise.client.Client` on `--url` with `--token`, makes one or a few
calls and prints the answer as JSON lines a person can read and a script can parse.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from edgewise.client import Client
from edgewise.host.build import build_actor
from edgewise.host.errors import RequestInvalid
from edgewise.host.manifest import Manifest
from edgewise.host.sandbox.component import COMPONENT_MAGIC


def _print(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=True, default=str))


def _module_to_deploy(target: Path) -> tuple[bytes, Manifest | None]:
    """The wasm to deploy and, for an actor folder (built first), its build manifest."""
    if target.is_dir():
        result = build_actor(target)
        return result.wasm_path.read_bytes(), result.manifest
    if target.suffix == ".wasm" and target.is_file():
        return target.read_bytes(), None
    raise RequestInvalid(f"{target} is neither an actor folder nor a .wasm file")


def deploy(args: argparse.Namespace) -> int:
    wasm, manifest = _module_to_deploy(args.target)
    name = args.name or (manifest.name if manifest else args.target.stem)

    language = manifest.language if manifest else None
    actions = manifest.actions if manifest else None
    if wasm[:8] == COMPONENT_MAGIC:
        print(
            f"deploying {name}: a {len(wasm) / 1e6:.1f} MB component; the node compiles a new "
            "one once, which takes several seconds ...",
            file=sys.stderr,
            flush=True,
        )

    async def go() -> Any:
        async with Client(args.url, admin_token=args.token, transport="h1") as client:
            return await client.deploy(name, wasm, language=language, actions=actions)

    _print(asyncio.run(go()))
    return 0


def actors(args: argparse.Namespace) -> int:
    async def go() -> Any:
        async with Client(args.url, admin_token=args.token, transport="h1") as client:
            if args.actors_command == "list":
                return await client.list_actors(args.name, args.after, args.limit)
            if args.actors_command == "get":
                return await client.actor_info(args.actor_id)
            await client.destroy(args.actor_id)
            return {"destroyed": args.actor_id}

    _print(asyncio.run(go()))
    return 0
