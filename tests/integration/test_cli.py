"""The `edgewise` command as a user runs it: help, dev (what `make run` starts), serve, build,
deploy and actors, with their errors."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from edgewise.client import Client
from node_process import NodeProcess

REPO = Path(__file__).resolve().parents[2]


def edgewise(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edgewise.host.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


@pytest.fixture
def examples_copy(tmp_path: Path) -> Path:
    """A folder laid out like the repository's top, holding a copy of examples/."""
    shutil.copytree(REPO / "examples", tmp_path / "examples", ignore=shutil.ignore_patterns("out"))
    return tmp_path


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["dev"],
        ["serve"],
        ["build"],
        ["deploy"],
        ["actors"],
        ["actors", "list"],
        ["migrate"],
        ["regions"],
        ["regions", "list"],
        ["regions", "demo"],
    ],
)
def test_help_of_every_command(command: list[str]) -> None:
    result = edgewise(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: edgewise" in result.stdout


def test_serve_refuses_to_start_without_admin_token(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text(f'[node]\nport = 0\ndata_dir = "{tmp_path / "data"}"\n')
    result = edgewise("serve", "--config", str(config))
    assert result.returncode == 1
    assert "config.invalid" in result.stderr and "admin_token" in result.stderr


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[node\nport = 1", "not valid TOML"),
        ('[node]\nport = "80"', "port must be int"),
        ("[node]\ncolour = 1", "unknown key 'colour'"),
        ("[nodes]\n", "unknown table"),
        ('[http3]\ncertificate_path = "c.pem"', "needs both certificate_path and private_key_path"),
        ('[http3]\ncertificate_path = "c.pem"\nprivate_key_path = "k.pem"', "not a readable file"),
        (
            '[http3]\ncertificate_path = "node.toml"\nprivate_key_path = "node.toml"',
            "cannot load the certificate",
        ),
        ("[http3]\nrequest_timeout_s = -1", "must not be negative"),
    ],
)
def test_serve_refuses_a_bad_config(tmp_path: Path, text: str, words: str) -> None:
    config = tmp_path / "node.toml"
    if text.startswith("[http3]"):
        text = f'[node]\nport = 0\nadmin_token = "t"\ndata_dir = "{tmp_path / "d"}"\n{text}'
        text = text.replace('"node.toml"', f'"{config}"').replace('"c.pem"', f'"{tmp_path}/c.pem"')
    config.write_text(text)
    result = edgewise("serve", "--config", str(config))
    assert result.returncode == 1
    assert "config.invalid" in result.stderr and words in result.stderr


def test_build_of_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    result = edgewise("build", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert "build.failed" in result.stderr


def test_dev_serves_every_example_by_default(examples_copy: Path) -> None:
    # The Python examples are built (componentize-py) and compiled (wasmtime) on the way: ~30 s.
    node = NodeProcess.start(
        ["dev", "--port", "0", "--data-dir", str(examples_copy / "data")],
        examples_copy / "dev.log",
        timeout_s=240.0,
    )

    async def calls() -> None:
        async with aiohttp.ClientSession() as session:
            url = f"{node.url}/v1/gateway/counter/actions/increment?key=tour"
            async with session.post(url, json={"args": [5]}) as response:
                assert (await response.json()) == {"output": 5}
            url = f"{node.url}/v1/gateway/chat_room/actions/history?key=lobby"
            async with session.post(url, json={"args": [10]}) as response:
                assert (await response.json()) == {"output": []}
            url = f"{node.url}/v1/gateway/counter_py/actions/increment?key=tour"
            async with session.post(url, json={"args": [3]}) as response:
                assert (await response.json()) == {"output": 3}
            url = f"{node.url}/v1/gateway/agent_memory/actions/count?key=me"
            async with session.post(url, json={"args": []}) as response:
                assert (await response.json()) == {"output": 0}

    async def over_http3() -> None:
        authority = str(examples_copy / "data" / "tls" / "dev-ca.pem")
        async with Client(node.url, transport="h3", ca_file=authority) as client:
            assert await client.get_or_create("counter", ["tour"]).call("increment", 1) == 6

    try:
        asyncio.run(calls())
        asyncio.run(over_http3())
    finally:
        assert node.stop() == 0, node.output
    assert node.output.count("ready at") == 1
    assert "HTTP/3 on UDP port" in node.output


def test_deploy_and_actors_commands_against_a_served_node(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text(
        f'[node]\nport = 0\ndata_dir = "{tmp_path / "data"}"\nadmin_token = "s3cret"\n'
    )
    node = NodeProcess.start(["serve", "--config", str(config)], tmp_path / "serve.log")
    counter = tmp_path / "counter"
    shutil.copytree(REPO / "examples" / "counter", counter, ignore=shutil.ignore_patterns("out"))
    remote = ["--url", node.url, "--token", "s3cret"]
    try:
        refused = edgewise("deploy", str(counter), "--url", node.url, "--token", "wrong")
        assert refused.returncode == 1 and "auth.unauthorized" in refused.stderr
        deployed = edgewise("deploy", str(counter), *remote)
        assert deployed.returncode == 0, deployed.stderr
        manifest = json.loads(deployed.stdout)
        assert manifest["name"] == "counter" and manifest["language"] == "c"
        assert manifest["actions"] == ["increment", "get", "increment_later"]
        bad = edgewise("deploy", str(tmp_path / "nothing.txt"), *remote)
        assert bad.returncode == 1 and "request.invalid" in bad.stderr

        async def create() -> str:
            async with aiohttp.ClientSession() as session:
                body = {"name": "counter", "key": ["cli"]}
                async with session.put(f"{node.url}/v1/actors", json=body) as response:
                    return str((await response.json())["actor_id"])

        actor_id = asyncio.run(create())
        listed = edgewise("actors", "list", "--name", "counter", *remote)
        assert listed.returncode == 0, listed.stderr
        assert actor_id in listed.stdout
        page = json.loads(listed.stdout)
        after = edgewise("actors", "list", "--after", actor_id, *remote)
        assert after.returncode == 0 and json.loads(after.stdout)["actors"] == []
        assert page["next"] is None
        bad = edgewise("actors", "list", "--limit", "0", *remote)
        assert bad.returncode == 1 and "request.invalid" in bad.stderr
        shown = edgewise("actors", "get", actor_id, *remote)
        assert shown.returncode == 0 and '"cli"' in shown.stdout
        assert edgewise("actors", "destroy", actor_id, *remote).returncode == 0
        gone = edgewise("actors", "get", actor_id, *remote)
        assert gone.returncode == 1 and "actor.not_found" in gone.stderr
    finally:
        assert node.stop() == 0, node.output


def test_dev_watch_redeploys_a_changed_actor(examples_copy: Path) -> None:
    counter = examples_copy / "examples" / "counter"
    node = NodeProcess.start(
        ["dev", "--port", "0", "--watch", "--data-dir", str(examples_copy / "d"), str(counter)],
        examples_copy / "watch.log",
    )
    try:
        source = next(counter.glob("*.c"))
        source.write_text(source.read_text() + "\n/* touched */\n")
        deadline = time.monotonic() + 60
        while "redeployed counter" not in node.output and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "redeployed counter" in node.output, node.output
    finally:
        node.stop()


@contextlib.contextmanager
def udp_port_with_free_tcp_twin() -> Iterator[str]:
    """A UDP port held open whose TCP twin is free (other tests' servers use TCP ports too)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            with socket.socket() as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            yield str(port)
            return
    raise AssertionError("no UDP port with a free TCP twin")


def test_a_taken_port_and_a_data_dir_in_use_are_clear_errors(examples_copy: Path) -> None:
    counter = str(examples_copy / "examples" / "counter")
    first = NodeProcess.start(
        ["dev", "--port", "0", "--data-dir", str(examples_copy / "one"), counter],
        examples_copy / "first.log",
    )
    try:
        port = first.url.rsplit(":", 1)[1]
        taken = edgewise("dev", "--port", port, "--data-dir", str(examples_copy / "two"), counter)
        assert taken.returncode == 1
        assert "node.listen_failed" in taken.stderr and "Traceback" not in taken.stderr
        shared = edgewise("dev", "--port", "0", "--data-dir", str(examples_copy / "one"), counter)
        assert shared.returncode == 1
        assert "in use by another process" in shared.stderr and "Traceback" not in shared.stderr
    finally:
        assert first.stop() == 0, first.output
    with udp_port_with_free_tcp_twin() as port:
        taken = edgewise("dev", "--port", port, "--data-dir", str(examples_copy / "three"), counter)
    assert taken.returncode == 1
    assert "node.listen_failed" in taken.stderr and "UDP" in taken.stderr
    assert "Traceback" not in taken.stderr


GREETER = r"""
#include "edgewise.h"

void ew_on_action(ew_turn *t, ew_str name, ew_reader *args, uint32_t argc) {
    ew_log(EW_INFO, "hello from the guest");
    ew_reply_ok_null(t);
}
"""


def test_dev_shows_guest_logs_at_the_chosen_level(tmp_path: Path) -> None:
    actor = tmp_path / "greeter"
    actor.mkdir()
    (actor / "greeter.c").write_text(GREETER)
    (actor / "actor.toml").write_text(
        '[actor]\nname = "greeter"\nlanguage = "c"\nsources = ["greeter.c"]\n'
    )

    async def greet(url: str) -> None:
        async with aiohttp.ClientSession() as session:
            target = f"{url}/v1/gateway/greeter/actions/hi?key=a"
            async with session.post(target, json={"args": []}) as response:
                assert response.status == 200, await response.text()

    for level, shown in (("info", True), ("warning", False)):
        node = NodeProcess.start(
            ["dev", "--port", "0", "--data-dir", str(tmp_path / level), "--log-level", level,
             str(actor)],
            tmp_path / f"{level}.log",
        )  # fmt: skip
        try:
            asyncio.run(greet(node.url))
        finally:
            assert node.stop() == 0, node.output
        assert ("edgewise.guest" in node.output and "hello from the guest" in node.output) is shown


def test_serve_refuses_an_unknown_log_level(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text('[node]\nadmin_token = "t"\nlog_level = "chatty"\n')
    result = edgewise("serve", "--config", str(config))
    assert result.returncode == 1 and "log_level must be one of" in result.stderr
