"""`edgewise.host.manifest`: manifest JSON, and the guest ABI v1 check of wasm binaries."""

from __future__ import annotations

import json

import pytest
import wasmtime
from edgewise.host.manifest import Manifest, abi_problems, manifest_filename

GOOD_EXPORTS = """
  (memory (export "memory") 1)
  (func (export "ew_abi_v1"))
  (func (export "ew_alloc") (param i32) (result i32) i32.const 8)
  (func (export "ew_turn") (param i32 i32) (result i64) i64.const 0)
"""


def module(body: str) -> bytes:
    return bytes(wasmtime.wat2wasm(f"(module {body})"))


def sample() -> Manifest:
    return Manifest("counter", 1, "c", ("increment", "get"), "ab" * 32, 7567)


def test_manifest_round_trips_through_json() -> None:
    for manifest in (sample(), Manifest("x", 1, "zig", None, "00" * 32, 1)):
        assert Manifest.from_json(manifest.to_json()) == manifest
    assert json.loads(sample().to_json())["actions"] == ["increment", "get"]
    assert manifest_filename("counter") == "counter.manifest.json"


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"name": 5}, "name"), ({"name": "Bad Name"}, "name"), ({"sha256": "xyz"}, "sha256"),
        ({"abi_version": "1"}, "abi_version"), ({"abi_version": True}, "abi_version"),
        ({"actions": "get"}, "actions"), ({"actions": [1]}, "actions"),
        ({"size_bytes": None}, "size_bytes"), ({"language": None}, "language"),
    ],
)  # fmt: skip
def test_manifest_from_json_refuses_bad_fields(change: dict[str, object], needle: str) -> None:
    raw = json.loads(sample().to_json()) | change
    with pytest.raises(ValueError, match=needle):
        Manifest.from_json(json.dumps(raw))


@pytest.mark.parametrize("text", ["", "[1]", "{", "null"])
def test_manifest_from_json_refuses_non_objects(text: str) -> None:
    with pytest.raises(ValueError, match="manifest"):
        Manifest.from_json(text)


def test_good_module_has_no_problems() -> None:
    assert abi_problems(module(GOOD_EXPORTS)) == []


def test_all_host_imports_with_right_types_are_accepted() -> None:
    imports = """
      (import "ew" "kv_get" (func (param i32 i32 i32 i32) (result i32)))
      (import "ew" "kv_put" (func (param i32 i32 i32 i32) (result i32)))
      (import "ew" "kv_delete" (func (param i32 i32) (result i32)))
      (import "ew" "kv_list" (func (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
      (import "ew" "log" (func (param i32 i32 i32)))
      (import "ew" "now_ms" (func (result i64)))
      (import "ew" "random" (func (param i32 i32)))
      (func (export "extra") (param f64) (result f64) local.get 0)
    """
    assert abi_problems(module(imports + GOOD_EXPORTS)) == []


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ('(import "ew" "kv_get" (func (param i32) (result i32)))' + GOOD_EXPORTS,
         "import ew.kv_get has type (i32) -> (i32), expected (i32, i32, i32, i32) -> (i32)"),
        ('(import "wasi" "fd_write" (func))' + GOOD_EXPORTS,
         "import wasi.fd_write is not a host import"),
        ('(import "ew" "now_ms" (global i64))' + GOOD_EXPORTS, "import ew.now_ms is not"),
        ('(import "ew" "mem" (memory 1))' + GOOD_EXPORTS.replace('"memory") 1', '"m2") 1'),
         "import ew.mem is not"),
        (GOOD_EXPORTS.replace('(memory (export "memory") 1)', "(memory 1)"),
         "missing export 'memory'"),
        (GOOD_EXPORTS.replace('(export "ew_abi_v1")', ""), "missing export 'ew_abi_v1'"),
        (GOOD_EXPORTS.replace("(param i32 i32) (result i64) i64.const 0", "(param i32 i32)"),
         "export 'ew_turn' has type (i32, i32) -> (), expected (i32, i32) -> (i64)"),
        (GOOD_EXPORTS.replace('(func (export "ew_alloc")', '(global (export "ew_alloc") i32'
                                                           ' (i32.const 1)) (func')
                     .replace("(param i32) (result i32) i32.const 8", ""),
         "missing export 'ew_alloc'"),
    ],
)  # fmt: skip
def test_abi_problems_are_named(body: str, needle: str) -> None:
    problems = abi_problems(module(body))
    assert any(needle in p for p in problems), problems


def test_imported_functions_shift_export_indices() -> None:
    body = '(import "ew" "log" (func (param i32 i32 i32)))' + GOOD_EXPORTS
    assert abi_problems(module(body)) == []


@pytest.mark.parametrize(
    "data",
    [b"", b"hello world", b"\0asm\x02\0\0\0", module(GOOD_EXPORTS)[:-3],
     b"\0asm\x01\0\0\0\x07\x05\x01\xff\xff\xff\xff", b"\0asm\x01\0\0\0\x02\x02\x01"],
)  # fmt: skip
def test_non_wasm_and_truncated_bytes_are_refused(data: bytes) -> None:
    (problem,) = abi_problems(data)
    assert problem.startswith("malformed module")
