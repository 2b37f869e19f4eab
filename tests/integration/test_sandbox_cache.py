"""The module cache: compiled modules kept on disk by digest, reused, and rebuilt when spoiled."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from edgewise.host.config import LimitsConfig
from edgewise.host.sandbox import Sandbox
from edgewise.host.sandbox.abi import TurnResult
from test_sandbox_guests import guest, run

WASM = guest()
DIGEST = hashlib.sha256(WASM).hexdigest()


def test_a_compiled_module_is_cached_by_digest_and_reused(tmp_path: Path) -> None:
    with Sandbox(LimitsConfig(), tmp_path) as first:
        module = first.load(WASM)
        assert first.load(WASM) is module
    cached = tmp_path / f"{DIGEST}.cwasm"
    before = cached.stat()
    with Sandbox(LimitsConfig(), tmp_path) as second:
        assert run(second.load(WASM)) == TurnResult(ok=42)
    after = cached.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert [p.name for p in tmp_path.iterdir()] == [cached.name]


@pytest.mark.parametrize("spoil", ["garbage", "truncated", "empty"])
def test_a_spoiled_cache_file_is_recompiled(tmp_path: Path, spoil: str) -> None:
    with Sandbox(LimitsConfig(), tmp_path) as first:
        first.load(WASM)
    cached = tmp_path / f"{DIGEST}.cwasm"
    good = cached.read_bytes()
    spoiled = {"garbage": b"\x7fELF" + b"\x00" * 200, "truncated": good[: len(good) // 2]}
    cached.write_bytes(spoiled.get(spoil, b""))
    with Sandbox(LimitsConfig(), tmp_path) as second:
        assert run(second.load(WASM)) == TurnResult(ok=42)
    assert cached.read_bytes() == good


def test_an_unwritable_cache_does_not_stop_loading(tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be")
    with Sandbox(LimitsConfig(), blocker) as box:
        assert run(box.load(WASM)) == TurnResult(ok=42)


def test_close_is_idempotent_and_final(tmp_path: Path) -> None:
    box = Sandbox(LimitsConfig(), tmp_path)
    module = box.load(WASM)
    box.close()
    box.close()
    with pytest.raises(ValueError, match="closed"):
        box.load(WASM)
    assert run(module) == TurnResult(ok=42)  # modules already loaded outlive their sandbox
