"""The `edgewise` command: parses arguments and dispatches to one function per subcommand.

Node commands (`dev`, `serve`) live in `node_commands.py`, commands that talk to a running node
(`deploy`, `actors`) in `remote_commands.py`, `migrate` and `regions` in `region_commands.py`,
`build` here. Every `EdgewiseError` (or client
error) ends the command with `error: CODE: MESSAGE` on stderr and exit status 1; bad arguments
exit with status 2 (argparse's convention).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from edgewise.client.errors import EdgewiseClientError
from edgewise.host.config import LOG_LEVELS
from edgewise.host.errors import EdgewiseError

DEFAULT_URL = "http://127.0.0.1:6420"


def _add_remote_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        default=os.environ.get("EDGEWISE_URL", DEFAULT_URL),
        help="node URL (default: $EDGEWISE_URL or %(default)s)",
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("EDGEWISE_ADMIN_TOKEN"),
        help="admin token (default: $EDGEWISE_ADMIN_TOKEN)",
    )


def _dev_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "dev",
        help="build actor folders and serve them on a local dev node",
        description="Build the given actor folders (default: every folder of examples/) and "
        "serve them on 127.0.0.1. Prints one line with the URL once ready; Ctrl-C stops.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (%(default)s)")
    p.add_argument("--port", type=int, default=6420, help="TCP port, 0 for any (%(default)s)")
    p.add_argument("--data-dir", default=".edgewise", help="state directory (%(default)s)")
    p.add_argument("--idle-timeout-s", type=float, default=None, help="actor idle timeout")
    p.add_argument("--watch", action="store_true", help="rebuild and redeploy on source changes")
    p.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        default="info",
        help="node and guest logs at this level and above (%(default)s)",
    )
    p.add_argument("actor_dirs", nargs="*", type=Path, metavar="ACTOR_DIR")


def _serve_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "serve",
        help="run a configured node",
        description="Run a node from a TOML config file. Refuses to start without "
        "node.admin_token. Prints one line with the URL once ready.",
    )
    p.add_argument("--config", required=True, type=Path, help="node.toml")


def _build_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "build",
        help="build actor folders into .wasm modules",
        description="Build each actor folder (an actor.toml naming the actor, its language and "
        "sources) into OUT/NAME.wasm and OUT/NAME.manifest.json (OUT defaults to DIR/out).",
    )
    p.add_argument("actor_dirs", nargs="+", type=Path, metavar="ACTOR_DIR")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: DIR/out)")


def _deploy_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "deploy",
        help="deploy a module to a running node",
        description="Deploy an actor folder (built first) or a .wasm file to a node. A "
        "redeploy applies to new activations; actors keep their state.",
    )
    p.add_argument("target", type=Path, metavar="ACTOR_DIR_OR_WASM")
    p.add_argument("--name", default=None, help="module name (default: from actor.toml/file)")
    _add_remote_options(p)


def _actors_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("actors", help="list, inspect and destroy actors on a running node")
    actions = p.add_subparsers(dest="actors_command", required=True, metavar="COMMAND")
    lst = actions.add_parser("list", help="list actors, optionally of one module")
    lst.add_argument("--name", default=None, help="module name")
    lst.add_argument("--limit", type=int, default=100, help="page size (%(default)s)")
    lst.add_argument("--after", default=None, help="the 'next' id of the previous page")
    _add_remote_options(lst)
    get = actions.add_parser("get", help="show one actor")
    get.add_argument("actor_id")
    _add_remote_options(get)
    destroy = actions.add_parser("destroy", help="destroy an actor and all its data")
    destroy.add_argument("actor_id")
    _add_remote_options(destroy)


def _migrate_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "migrate",
        help="move an actor, live, to another region",
        description="Move an actor with its state to another region of the cluster while its "
        "clients keep working; shows progress. Any node of the cluster takes the request.",
    )
    p.add_argument("actor_id")
    p.add_argument("--to", required=True, metavar="REGION", help="the region to move it to")
    _add_remote_options(p)


def _regions_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("regions", help="look at the regions of a cluster")
    actions = p.add_subparsers(dest="regions_command", required=True, metavar="COMMAND")
    lst = actions.add_parser(
        "list", help="regions and nodes of a cluster file, their health and round trip times"
    )
    lst.add_argument("--cluster", required=True, type=Path, help="the cluster file (TOML)")
    lst.add_argument("--timeout-s", type=float, default=2.0, help="per node (%(default)s)")
    demo = actions.add_parser(
        "demo",
        help="start two regions (eu, us) on this machine, far apart",
        description="Start regions eu and us on 127.0.0.1, each with three NATS servers and one "
        "node serving the given actor folders (default: every folder of examples/), with an "
        "added round trip between them; print their endpoints. Ctrl-C stops everything.",
    )
    demo.add_argument("--rtt-ms", type=float, default=40.0, help="between regions (%(default)s)")
    demo.add_argument("--port", type=int, default=6421,
                      help="eu's node; us gets +1, their delayed doors +10 and +11; 0: any "
                           "(%(default)s)")  # fmt: skip
    demo.add_argument("--data-dir", default=".edgewise-demo", help="state (%(default)s)")
    demo.add_argument("--no-follow", dest="follow", action="store_false",
                      help="turn follow-the-user off")  # fmt: skip
    demo.add_argument("--log-level", choices=LOG_LEVELS, default="info", help="(%(default)s)")
    demo.add_argument("actor_dirs", nargs="*", type=Path, metavar="ACTOR_DIR")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edgewise",
        description="Edgewise: stateful actors compiled to WebAssembly, served over HTTP/1.1, "
        "WebSocket and HTTP/3, in one region or several.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (
        _dev_parser,
        _serve_parser,
        _build_parser,
        _deploy_parser,
        _actors_parser,
        _migrate_parser,
        _regions_parser,
    ):
        add(sub)
    return parser


def _build(args: argparse.Namespace) -> int:
    from edgewise.host.build import build_actor

    for actor_dir in args.actor_dirs:
        result = build_actor(actor_dir, args.out)
        m = result.manifest
        done = "built" if result.rebuilt else "up to date:"
        print(f"{done} {m.name}: {result.wasm_path} ({m.size_bytes} bytes, sha256 {m.sha256[:12]})")
    return 0


def run(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    from edgewise.host.cli import node_commands, region_commands, remote_commands

    commands = {
        "dev": node_commands.dev,
        "serve": node_commands.serve,
        "build": _build,
        "deploy": remote_commands.deploy,
        "actors": remote_commands.actors,
        "migrate": region_commands.migrate,
        "regions": region_commands.regions,
    }
    try:
        return commands[args.command](args)
    except (EdgewiseError, EdgewiseClientError) as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 1


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
