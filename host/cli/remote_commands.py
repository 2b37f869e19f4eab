"""`edgewise deploy` and `edgewise actors ...`: commands that talk to a running node.

They are thin: each opens an `edgewise.client.Client` on `--url` with `--token`, makes one or a few
calls and prints the answer as JSON lines a person can read and a script can parse.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from edgewise.client import Client
from edgewise.host.build import build_actor
from edgewise.host.errors import RequestInvalid


def _print(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=True, default=str))


def _module_to_deploy(target: Path, name: str | None) -> tuple[str, bytes]:
    if target.is_dir():
        result = build_actor(target)
        return name or result.manifest.name, result.wasm_path.read_bytes()
    if target.suffix == ".wasm" and target.is_file():
        return name or target.stem, target.read_bytes()
    raise RequestInvalid(f"{target} is neither an actor folder nor a .wasm file")


def deploy(args: argparse.Namespace) -> int:
    name, wasm = _module_to_deploy(args.target, args.name)

    async def go() -> Any:
        async with Client(args.url, admin_token=args.token) as client:
            return await client.deploy(name, wasm)

    _print(asyncio.run(go()))
    return 0


def actors(args: argparse.Namespace) -> int:
    async def go() -> Any:
        async with Client(args.url, admin_token=args.token) as client:
            if args.actors_command == "list":
                return await client.list_actors(args.name, None, args.limit)
            if args.actors_command == "get":
                return await client.actor_info(args.actor_id)
            await client.destroy(args.actor_id)
            return {"destroyed": args.actor_id}

    _print(asyncio.run(go()))
    return 0
