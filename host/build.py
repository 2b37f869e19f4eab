"""Build an actor directory (``actor.toml`` + sources) into ``NAME.wasm`` + ``NAME.manifest.json``.

`read_actor_spec` validates ``actor.toml``; `build_actor` compiles C and Zig with the ``zig``
toolchain from the ``ziglang`` package (``python -m ziglang``), linking every ``c/*.c`` file of the
guest SDK (``guest-sdk/`` beside this package, or at ``$EDGEWISE_GUEST_SDK``), then checks the
output against guest ABI v1 with `abi_problems`. Python actors become components: a generated entry
module (``python/edgewise_main.py`` in the output folder) imports the actor's first source and
hands it to the SDK's ``world_for``; ``componentize-py`` bundles it with the SDK and CPython
against the WIT world of ``guest-sdk/python/wit`` (about 10 s, 18 MB). Then the manifest is
written. An actor whose output is newer than every input (its folder and the guest SDK it uses)
is not built again (``BuildResult.rebuilt`` is False): componentize-py's output differs from one
run to the next, and a new digest would cost the node a new compile. Every failure raises
`BuildFailed` with a message that says what to fix, including the compiler's own error text.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgewise.host.errors import BuildFailed
from edgewise.host.manifest import (
    ABI_VERSION,
    LANGUAGES,
    NAME_PATTERN,
    Manifest,
    abi_problems,
    manifest_filename,
)
from edgewise.host.sandbox.component import COMPONENT_MAGIC

COMPILE_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class ActorSpec:
    """The ``[actor]`` table of an ``actor.toml``, with source paths made absolute."""

    name: str
    language: str
    sources: tuple[Path, ...]
    actions: tuple[str, ...] | None


@dataclass(frozen=True)
class BuildResult:
    wasm_path: Path
    manifest_path: Path
    manifest: Manifest
    rebuilt: bool = True


SCRATCH_FOLDERS = frozenset({"out", "__pycache__", ".zig-cache", ".mypy_cache"})


def source_files(folder: Path) -> list[Path]:
    """Every file under ``folder`` that a build reads (not outputs, caches or bytecode)."""
    return [
        p for p in folder.rglob("*")
        if p.is_file() and not SCRATCH_FOLDERS.intersection(p.relative_to(folder).parts)
    ]  # fmt: skip


def guest_sdk_dir() -> Path:
    override = os.environ.get("EDGEWISE_GUEST_SDK")
    return Path(override) if override else Path(__file__).resolve().parents[1] / "guest-sdk"


def zig_cache_dir() -> Path:
    override = os.environ.get("EDGEWISE_ZIG_CACHE")
    return Path(override) if override else Path.home() / ".cache" / "edgewise" / "zig"


def read_actor_spec(actor_dir: Path) -> ActorSpec:
    toml_path = actor_dir / "actor.toml"
    try:
        raw = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BuildFailed(f"{toml_path} not found: an actor directory needs actor.toml") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BuildFailed(f"{toml_path} is not valid TOML: {exc}") from None
    table = raw.get("actor")
    if not isinstance(table, dict):
        raise BuildFailed(f"{toml_path} needs an [actor] table")
    unknown = set(table) - {"name", "language", "sources", "actions"}
    if unknown:
        raise BuildFailed(f"{toml_path}: unknown key {sorted(unknown)[0]!r} in [actor]")
    name = table.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise BuildFailed(f"{toml_path}: name must be a string matching {NAME_PATTERN.pattern}")
    language = table.get("language")
    if not isinstance(language, str) or language not in LANGUAGES:
        raise BuildFailed(
            f"{toml_path}: unknown language {language!r}, expected one of {LANGUAGES}"
        )
    return ActorSpec(
        name=name,
        language=language,
        sources=_sources(toml_path, actor_dir, table.get("sources")),
        actions=_actions(toml_path, table.get("actions")),
    )


def _sources(toml_path: Path, actor_dir: Path, raw: Any) -> tuple[Path, ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(s, str) for s in raw):
        raise BuildFailed(f"{toml_path}: sources must be a non-empty list of file names")
    paths = tuple((actor_dir / s).resolve() for s in raw)
    for path in paths:
        if not path.is_file():
            raise BuildFailed(f"{toml_path}: source {path} not found")
        if path.suffix not in (".c", ".zig", ".py"):
            raise BuildFailed(f"{toml_path}: source {path.name} is not .c, .zig or .py")
    return paths


def _actions(toml_path: Path, raw: Any) -> tuple[str, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(a, str) and a for a in raw):
        raise BuildFailed(f"{toml_path}: actions must be a list of non-empty strings")
    return tuple(raw)


def sdk_c_sources(sdk: Path) -> list[str]:
    """Every C file of the C SDK (``guest-sdk/c/*.c``): each actor, C or Zig, links all of them.

    The commands below link with ``-flto`` so that calls between these files (and into the actor)
    are inlined as if the SDK were one translation unit.
    """
    return [str(path) for path in sorted((sdk / "c").glob("*.c"))]


PYTHON_ENTRY = "edgewise_main"


def python_command(spec: ActorSpec, sdk: Path, wasm_path: Path) -> list[str]:
    """Write the entry module next to ``wasm_path`` and return the componentize-py command."""
    if any(s.suffix != ".py" for s in spec.sources):
        raise BuildFailed(f"actor {spec.name}: a Python actor has only .py sources")
    module = spec.sources[0].stem
    if not module.isidentifier():
        raise BuildFailed(f"actor {spec.name}: {spec.sources[0].name} is not an importable name")
    entry_dir = wasm_path.parent / "python"
    entry_dir.mkdir(exist_ok=True)
    (entry_dir / f"{PYTHON_ENTRY}.py").write_text(
        '"""Written by edgewise build: the component\'s entry point."""\n\n'
        f"import {module} as actor_module\n"
        "from edgewise_actor.world import world_for\n\n"
        "WitWorld = world_for(actor_module)\n",
        encoding="utf-8",
    )
    python_sdk = sdk / "python"
    return [sys.executable, "-c", "from componentize_py import script; script()",
            "-d", str(python_sdk / "wit"), "-w", "actor", "componentize", PYTHON_ENTRY,
            "-p", str(entry_dir), "-p", str(spec.sources[0].parent), "-p", str(python_sdk),
            "-o", str(wasm_path)]  # fmt: skip


def compile_command(spec: ActorSpec, sdk: Path, wasm_path: Path) -> list[str]:
    if spec.language == "python":
        return python_command(spec, sdk, wasm_path)
    zig = [sys.executable, "-m", "ziglang"]
    c_sdk = sdk / "c"
    c_sources = [str(s) for s in spec.sources if s.suffix == ".c"]
    if spec.language == "c":
        if len(c_sources) != len(spec.sources):
            raise BuildFailed(f"actor {spec.name}: a C actor has only .c sources")
        return [*zig, "cc", "--target=wasm32-freestanding", "-Os", "-flto", "-std=c11", "-nostdlib",
                "-Wall", "-Wl,--no-entry", "-Wl,--strip-all", f"-I{c_sdk}", "-o", str(wasm_path),
                *c_sources, *sdk_c_sources(sdk)]  # fmt: skip
    roots = [s for s in spec.sources if s.suffix == ".zig"]
    if len(roots) != 1:
        raise BuildFailed(f"actor {spec.name}: a Zig actor has exactly one .zig source (its root)")
    return [*zig, "build-exe", "-target", "wasm32-freestanding", "-fno-entry", "-O", "ReleaseSmall",
            "-fstrip", "-flto", f"-femit-bin={wasm_path}", "-cflags", "-Os", "-flto", "-std=c11",
            "--", *sdk_c_sources(sdk), *c_sources, f"-I{c_sdk}", "--dep", "edgewise",
            f"-Mroot={roots[0]}", f"-Medgewise={sdk / 'zig' / 'edgewise.zig'}"]  # fmt: skip


def _run_compiler(command: list[str], out_dir: Path, name: str, language: str) -> None:
    toolchain = "componentize_py" if language == "python" else "ziglang"
    if importlib.util.find_spec(toolchain) is None:
        raise BuildFailed(f"toolchain missing: pip install {toolchain.replace('_', '-')}")
    env = dict(os.environ)
    env["ZIG_GLOBAL_CACHE_DIR"] = str(zig_cache_dir())
    env["ZIG_LOCAL_CACHE_DIR"] = str(out_dir / ".zig-cache")
    env["RUST_BACKTRACE"] = "0"  # componentize-py: the guest's traceback, not the tool's stack
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise BuildFailed(
            f"actor {name}: the compiler ran past {COMPILE_TIMEOUT_S:.0f} s"
        ) from None
    except OSError as exc:
        raise BuildFailed(f"actor {name}: could not run the compiler: {exc}") from None
    if done.returncode != 0:
        raise BuildFailed(
            f"actor {name} failed to compile:\n{(done.stderr or done.stdout).strip()}"
        )


def build_actor(actor_dir: Path, out_dir: Path | None = None) -> BuildResult:
    spec = read_actor_spec(actor_dir)
    out = (out_dir if out_dir is not None else actor_dir / "out").resolve()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BuildFailed(f"cannot create the output directory {out}: {exc}") from None
    sdk = guest_sdk_dir()
    if not (sdk / "c" / "edgewise.h").is_file() or not sdk_c_sources(sdk):
        raise BuildFailed(f"guest SDK not found at {sdk} (set EDGEWISE_GUEST_SDK)")
    wasm_path = out / f"{spec.name}.wasm"
    manifest_path = out / manifest_filename(spec.name)
    current = _up_to_date(actor_dir, spec, sdk, wasm_path, manifest_path)
    if current is not None:
        return BuildResult(wasm_path, manifest_path, current, rebuilt=False)
    wasm_path.unlink(missing_ok=True)
    _run_compiler(compile_command(spec, sdk, wasm_path), out, spec.name, spec.language)
    wasm = wasm_path.read_bytes()
    problems = _component_problems(wasm) if spec.language == "python" else abi_problems(wasm)
    if problems:
        wasm_path.unlink()
        raise BuildFailed(f"actor {spec.name} does not satisfy guest ABI v1: {'; '.join(problems)}")
    manifest = Manifest(
        name=spec.name,
        abi_version=ABI_VERSION,
        language=spec.language,
        actions=spec.actions,
        sha256=hashlib.sha256(wasm).hexdigest(),
        size_bytes=len(wasm),
    )
    manifest_path.write_text(manifest.to_json(), encoding="utf-8")
    return BuildResult(wasm_path=wasm_path, manifest_path=manifest_path, manifest=manifest)


def _up_to_date(
    actor_dir: Path, spec: ActorSpec, sdk: Path, wasm_path: Path, manifest_path: Path
) -> Manifest | None:
    """The manifest of a previous build that is newer than every input, else None."""
    try:
        built_ns = min(wasm_path.stat().st_mtime_ns, manifest_path.stat().st_mtime_ns)
        manifest = Manifest.from_json(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    sdk_parts = ("python",) if spec.language == "python" else ("c", spec.language)
    inputs = [actor_dir / "actor.toml", *spec.sources, *source_files(actor_dir)]
    for part in dict.fromkeys(sdk_parts):
        inputs += source_files(sdk / part)
    newest_ns = max(p.stat().st_mtime_ns for p in inputs)
    if newest_ns >= built_ns or (manifest.name, manifest.language, manifest.actions) != (
        spec.name,
        spec.language,
        spec.actions,
    ):
        return None
    digest = hashlib.sha256(wasm_path.read_bytes()).hexdigest()
    return manifest if digest == manifest.sha256 else None


def _component_problems(wasm: bytes) -> list[str]:
    """The world itself is checked at deploy (it needs a compile of several seconds)."""
    return [] if wasm[:8] == COMPONENT_MAGIC else ["the output is not a WebAssembly component"]


def build_actors(dirs: Iterable[Path]) -> list[BuildResult]:
    return [build_actor(d) for d in dirs]
