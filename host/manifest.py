"""Module manifests and the guest ABI v1 check of a compiled module.

A `Manifest` describes one built actor module (name, ABI version, language, actions, digest, size)
and is stored as JSON in ``NAME.manifest.json`` beside ``NAME.wasm``. `abi_problems` reads the
import, function, type and export sections of a wasm binary itself (sans-IO, no wasmtime Engine)
and lists, in words, every way the module fails guest ABI v1 section 1 and 3: missing or mistyped
exports, and imports other than the ``ew`` functions with their exact types.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, TypeVar

ABI_VERSION = 1
LANGUAGES = ("c", "zig", "python")
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_-]{0,62}")

_I32, _I64 = 0x7F, 0x7E
_VALTYPES = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64", 0x7B: "v128", 0x70: "funcref",
             0x6F: "externref"}  # fmt: skip
FuncSig = tuple[tuple[int, ...], tuple[int, ...]]
T = TypeVar("T")

REQUIRED_EXPORTS: dict[str, FuncSig] = {
    "ew_abi_v1": ((), ()),
    "ew_alloc": ((_I32,), (_I32,)),
    "ew_turn": ((_I32, _I32), (_I64,)),
}
HOST_IMPORTS: dict[str, FuncSig] = {
    "kv_get": ((_I32,) * 4, (_I32,)),
    "kv_put": ((_I32,) * 4, (_I32,)),
    "kv_delete": ((_I32,) * 2, (_I32,)),
    "kv_list": ((_I32,) * 7, (_I32,)),
    "log": ((_I32,) * 3, ()),
    "now_ms": ((), (_I64,)),
    "random": ((_I32,) * 2, ()),
}


def manifest_filename(name: str) -> str:
    return f"{name}.manifest.json"


@dataclass(frozen=True)
class Manifest:
    name: str
    abi_version: int
    language: str
    actions: tuple[str, ...] | None
    sha256: str
    size_bytes: int

    def to_dict(self) -> dict[str, Any]:
        """The manifest as JSON-ready values: the manifest file and the HTTP API both use it."""
        return {
            "name": self.name,
            "abi_version": self.abi_version,
            "language": self.language,
            "actions": None if self.actions is None else list(self.actions),
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Raises ValueError naming the first field that is missing or has a wrong type."""
        try:
            raw: Any = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"manifest is not JSON: {exc}") from None
        if not isinstance(raw, dict):
            raise ValueError("manifest must be a JSON object")
        name = _field(raw, "name", str)
        if not NAME_PATTERN.fullmatch(name):
            raise ValueError(f"manifest name {name!r} must match {NAME_PATTERN.pattern}")
        digest = _field(raw, "sha256", str)
        if not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ValueError("manifest sha256 must be 64 lowercase hex digits")
        actions = raw.get("actions")
        if actions is not None and not (
            isinstance(actions, list) and all(isinstance(a, str) for a in actions)
        ):
            raise ValueError("manifest actions must be a list of strings or null")
        return cls(
            name=name,
            abi_version=_field(raw, "abi_version", int),
            language=_field(raw, "language", str),
            actions=None if actions is None else tuple(actions),
            sha256=digest,
            size_bytes=_field(raw, "size_bytes", int),
        )


def _field(raw: dict[str, Any], key: str, kind: type[T]) -> T:
    value = raw.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ValueError(f"manifest {key} must be {kind.__name__}")
    return value


# --- the wasm binary ----------------------------------------------------------------------------


class _Malformed(Exception):
    pass


class _Bytes:
    """A cursor over a wasm binary: LEB128 integers, names, and bounds checks."""

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data, self.pos, self.end = data, pos, len(data) if end is None else end

    def byte(self) -> int:
        if self.pos >= self.end:
            raise _Malformed("unexpected end of the module")
        self.pos += 1
        return self.data[self.pos - 1]

    def u32(self) -> int:
        result = shift = 0
        for _ in range(5):
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
        raise _Malformed("integer too long")

    def take(self, n: int) -> bytes:
        if n > self.end - self.pos:
            raise _Malformed("unexpected end of the module")
        self.pos += n
        return self.data[self.pos - n : self.pos]

    def name(self) -> str:
        try:
            return self.take(self.u32()).decode("utf-8")
        except UnicodeDecodeError:
            raise _Malformed("a name is not UTF-8") from None

    def limits(self) -> None:
        flags = self.byte()
        self.u32()
        if flags & 1:
            self.u32()


@dataclass
class _Sections:
    types: list[FuncSig]
    imports: list[tuple[str, str, int, int]]  # module, name, kind, type index (functions)
    functions: list[int]
    exports: dict[str, tuple[int, int]]  # name -> (kind, index)


def _read_types(c: _Bytes) -> list[FuncSig]:
    types = []
    for _ in range(c.u32()):
        if c.byte() != 0x60:
            raise _Malformed("unsupported type section entry")
        params = tuple(c.byte() for _ in range(c.u32()))
        results = tuple(c.byte() for _ in range(c.u32()))
        types.append((params, results))
    return types


def _read_imports(c: _Bytes) -> list[tuple[str, str, int, int]]:
    imports = []
    for _ in range(c.u32()):
        module, name, kind = c.name(), c.name(), c.byte()
        index = -1
        if kind == 0:
            index = c.u32()
        elif kind == 1:
            c.byte()
            c.limits()
        elif kind == 2:
            c.limits()
        elif kind == 3:
            c.byte()
            c.byte()
        else:
            c.byte()
            c.u32()
        imports.append((module, name, kind, index))
    return imports


def _read_sections(wasm: bytes) -> _Sections:
    if wasm[:8] != b"\0asm\x01\0\0\0":
        raise _Malformed("not a WebAssembly core module (bad magic or version)")
    found = _Sections([], [], [], {})
    c = _Bytes(wasm, 8)
    while c.pos < c.end:
        section_id, size = c.byte(), c.u32()
        body = _Bytes(wasm, c.pos, c.pos + len(c.take(size)))
        if section_id == 1:
            found.types = _read_types(body)
        elif section_id == 2:
            found.imports = _read_imports(body)
        elif section_id == 3:
            found.functions = [body.u32() for _ in range(body.u32())]
        elif section_id == 7:
            for _ in range(body.u32()):
                name, kind = body.name(), body.byte()
                found.exports[name] = (kind, body.u32())
    return found


def _describe(sig: FuncSig) -> str:
    params = ", ".join(_VALTYPES.get(t, hex(t)) for t in sig[0])
    results = ", ".join(_VALTYPES.get(t, hex(t)) for t in sig[1])
    return f"({params}) -> ({results})"


def abi_problems(wasm: bytes) -> list[str]:
    """Every way `wasm` fails guest ABI v1, in words; empty when it satisfies it."""
    try:
        s = _read_sections(bytes(wasm))
        func_types = [i[3] for i in s.imports if i[2] == 0] + s.functions
        problems = [_import_problem(s.types, imp) for imp in s.imports]
        problems += [_export_problem(s, func_types, name, sig)
                     for name, sig in REQUIRED_EXPORTS.items()]  # fmt: skip
    except (_Malformed, IndexError) as exc:
        return [f"malformed module: {exc}"]
    if s.exports.get("memory", (-1, 0))[0] != 2:
        problems.append("missing export 'memory' (a memory)")
    return [p for p in problems if p]


def _import_problem(types: list[FuncSig], imp: tuple[str, str, int, int]) -> str:
    module, name, kind, index = imp
    if module != "ew" or name not in HOST_IMPORTS or kind != 0:
        return f"import {module}.{name} is not a host import of ABI v1"
    want = HOST_IMPORTS[name]
    if types[index] != want:
        return f"import ew.{name} has type {_describe(types[index])}, expected {_describe(want)}"
    return ""


def _export_problem(s: _Sections, func_types: list[int], name: str, want: FuncSig) -> str:
    if name not in s.exports or s.exports[name][0] != 0:
        return f"missing export '{name}' (a function {_describe(want)})"
    got = s.types[func_types[s.exports[name][1]]]
    if got != want:
        return f"export '{name}' has type {_describe(got)}, expected {_describe(want)}"
    return ""
