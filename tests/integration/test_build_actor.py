"""`edgewise.host.build`: real zig builds of actor directories, and every way a build fails."""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

import pytest
from edgewise.host.build import build_actor, build_actors, read_actor_spec
from edgewise.host.errors import BuildFailed
from edgewise.host.manifest import Manifest, abi_problems

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def write_actor(folder: Path, toml: str, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "actor.toml").write_text(toml, encoding="utf-8")
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def c_actor(folder: Path, source: str, name: str = "probe") -> Path:
    toml = f'[actor]\nname = "{name}"\nlanguage = "c"\nsources = ["main.c"]\n'
    return write_actor(folder, toml, {"main.c": source})


def test_build_writes_wasm_and_manifest_in_default_out(tmp_path: Path) -> None:
    actor_dir = tmp_path / "counter"
    shutil.copytree(EXAMPLES / "counter", actor_dir, ignore=shutil.ignore_patterns("out"))
    result = build_actor(actor_dir)
    assert result.wasm_path == (actor_dir / "out" / "counter.wasm").resolve()
    assert result.manifest_path.name == "counter.manifest.json"
    wasm = result.wasm_path.read_bytes()
    assert abi_problems(wasm) == []
    assert result.manifest == Manifest(
        name="counter", abi_version=1, language="c",
        actions=("increment", "get", "increment_later"),
        sha256=hashlib.sha256(wasm).hexdigest(), size_bytes=len(wasm),
    )  # fmt: skip
    assert Manifest.from_json(result.manifest_path.read_text(encoding="utf-8")) == result.manifest


def test_build_actors_builds_both_examples(tmp_path: Path) -> None:
    dirs = []
    for name in ("counter", "chat_room"):
        shutil.copytree(EXAMPLES / name, tmp_path / name, ignore=shutil.ignore_patterns("out"))
        dirs.append(tmp_path / name)
    results = build_actors(dirs)
    assert [(r.manifest.name, r.manifest.language) for r in results] == [
        ("counter", "c"),
        ("chat_room", "zig"),
    ]
    assert results[1].manifest.actions == ("send", "history")
    assert all(r.wasm_path.is_file() for r in results)


def test_missing_actor_toml(tmp_path: Path) -> None:
    with pytest.raises(BuildFailed, match=r"actor\.toml"):
        build_actor(tmp_path)


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ("[actor\nname=", "not valid TOML"),
        ('name = "x"\n', r"\[actor\] table"),
        ('[actor]\nname = "Bad Name"\nlanguage = "c"\nsources = ["main.c"]\n', "name must"),
        ('[actor]\nlanguage = "c"\nsources = ["main.c"]\n', "name must"),
        ('[actor]\nname = "x"\nlanguage = "rust"\nsources = ["main.c"]\n', "unknown language"),
        ('[actor]\nname = "x"\nlanguage = "c"\nsources = []\n', "sources must"),
        ('[actor]\nname = "x"\nlanguage = "c"\nsources = "main.c"\n', "sources must"),
        ('[actor]\nname = "x"\nlanguage = "c"\nsources = ["gone.c"]\n', "gone.c not found"),
        ('[actor]\nname = "x"\nlanguage = "c"\nsources = ["main.c"]\nactions = [1]\n', "actions"),
        ('[actor]\nname = "x"\nlanguage = "c"\nsources = ["main.c"]\nport = 1\n', "unknown key"),
        ('[actor]\nname = "x"\nlanguage = "c"\nsources = ["notes.txt"]\n', "not .c, .zig or .py"),
    ],
)
def test_bad_actor_toml(tmp_path: Path, toml: str, needle: str) -> None:
    write_actor(tmp_path, toml, {"main.c": "int x;\n", "notes.txt": "hi\n"})
    with pytest.raises(BuildFailed, match=needle) as caught:
        build_actor(tmp_path)
    assert caught.value.code == "build.failed"


def test_read_actor_spec_resolves_sources() -> None:
    spec = read_actor_spec(EXAMPLES / "chat_room")
    assert spec.sources == ((EXAMPLES / "chat_room" / "chat_room.zig").resolve(),)
    assert spec.actions == ("send", "history")


def test_c_compile_error_shows_compiler_message(tmp_path: Path) -> None:
    c_actor(tmp_path, '#include "edgewise.h"\nint broken(void) { return 1 +; }\n')
    with pytest.raises(BuildFailed, match="expected expression") as caught:
        build_actor(tmp_path, tmp_path / "build")
    assert "main.c" in caught.value.message
    assert not (tmp_path / "build" / "probe.wasm").exists()


def test_zig_compile_error_shows_compiler_message(tmp_path: Path) -> None:
    toml = '[actor]\nname = "zigbad"\nlanguage = "zig"\nsources = ["main.zig"]\n'
    write_actor(tmp_path, toml, {"main.zig": "pub fn f() u32 {\n    return missing_name;\n}\n"
                                              "comptime { _ = &f; }\n"})  # fmt: skip
    with pytest.raises(BuildFailed, match="missing_name"):
        build_actor(tmp_path)


def test_zig_actor_needs_one_root(tmp_path: Path) -> None:
    toml = '[actor]\nname = "two"\nlanguage = "zig"\nsources = ["a.zig", "b.zig"]\n'
    write_actor(tmp_path, toml, {"a.zig": "", "b.zig": ""})
    with pytest.raises(BuildFailed, match=r"exactly one \.zig"):
        build_actor(tmp_path)


def test_module_without_the_sdk_exports_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sdk = tmp_path / "sdk"
    write_actor(sdk / "c", "", {"edgewise.h": "", "edgewise.c": "int sdk_nothing;\n"})
    monkeypatch.setenv("EDGEWISE_GUEST_SDK", str(sdk))
    actor = c_actor(tmp_path / "actor", '__attribute__((export_name("ew_turn"))) int t(int x)'
                                        " { return x; }\n")  # fmt: skip
    with pytest.raises(BuildFailed, match="does not satisfy guest ABI v1") as caught:
        build_actor(actor)
    assert "missing export 'ew_alloc'" in caught.value.message
    assert "export 'ew_turn' has type (i32) -> (i32)" in caught.value.message
    assert not (actor / "out" / "probe.wasm").exists()


def test_foreign_import_is_refused(tmp_path: Path) -> None:
    source = (
        '#include "edgewise.h"\n'
        '__attribute__((import_module("env"), import_name("open_socket"))) int open_socket(void);\n'
        "void ew_on_wake(ew_turn *t) { ew_write_int(ew_reply_ok(t), open_socket()); }\n"
    )
    with pytest.raises(BuildFailed, match=r"import env\.open_socket is not a host import"):
        build_actor(c_actor(tmp_path, source))


@pytest.mark.parametrize("language", ["c", "zig"])
def test_every_c_file_of_the_sdk_is_linked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    sdk = tmp_path / "sdk"
    shutil.copytree(REPO / "guest-sdk", sdk, ignore=shutil.ignore_patterns("conformance"))
    (sdk / "c" / "zz_extra.c").write_text("int ew_extra_answer(void) { return 42; }\n")
    monkeypatch.setenv("EDGEWISE_GUEST_SDK", str(sdk))
    sources = {
        "c": '#include "edgewise.h"\nint ew_extra_answer(void);\n'
        "void ew_on_wake(ew_turn *t) { ew_write_int(ew_reply_ok(t), ew_extra_answer()); }\n",
        "zig": 'const ew = @import("edgewise");\nextern fn ew_extra_answer() i32;\n'
        "comptime { ew.exportHooks(@This()); }\n"
        "pub fn onWake(t: *ew.Turn) void { t.replyOk().int(ew_extra_answer()); }\n",
    }
    source = f"main.{'c' if language == 'c' else 'zig'}"
    toml = f'[actor]\nname = "extra"\nlanguage = "{language}"\nsources = ["{source}"]\n'
    result = build_actor(write_actor(tmp_path / "actor", toml, {source: sources[language]}))
    assert abi_problems(result.wasm_path.read_bytes()) == []


def test_missing_guest_sdk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEWISE_GUEST_SDK", str(tmp_path / "nowhere"))
    with pytest.raises(BuildFailed, match="guest SDK not found"):
        build_actor(c_actor(tmp_path / "a", "int x;\n"))


def test_missing_toolchain_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ziglang", None)  # as if the package were not installed
    with pytest.raises(BuildFailed, match="toolchain missing: pip install ziglang"):
        build_actor(c_actor(tmp_path, "int x;\n"))


def test_an_up_to_date_actor_is_not_built_again(tmp_path: Path) -> None:
    actor_dir = tmp_path / "counter"
    shutil.copytree(EXAMPLES / "counter", actor_dir, ignore=shutil.ignore_patterns("out"))
    first = build_actor(actor_dir)
    again = build_actor(actor_dir)
    assert (first.rebuilt, again.rebuilt) == (True, False)
    assert again.manifest == first.manifest
    source = actor_dir / "counter.c"
    source.write_text(source.read_text() + "\n/* touched */\n")
    assert build_actor(actor_dir).rebuilt
    first.wasm_path.write_bytes(b"spoiled")
    rebuilt = build_actor(actor_dir)
    assert rebuilt.rebuilt and abi_problems(rebuilt.wasm_path.read_bytes()) == []


def python_actor(folder: Path, source: str) -> Path:
    toml = '[actor]\nname = "probe"\nlanguage = "python"\nsources = ["probe.py"]\n'
    return write_actor(folder, toml, {"probe.py": source})


@pytest.mark.parametrize(
    ("source", "needle"),
    [
        ("def broken(:\n", "SyntaxError"),
        ("x = 1\n", "Actor"),
    ],
)
def test_a_python_actor_that_cannot_load_fails_its_build(
    tmp_path: Path, source: str, needle: str
) -> None:
    with pytest.raises(BuildFailed) as failed:
        build_actor(python_actor(tmp_path / "probe", source))
    assert "probe failed to compile" in failed.value.message
    assert needle in failed.value.message


def test_a_python_actor_has_only_python_sources(tmp_path: Path) -> None:
    toml = '[actor]\nname = "probe"\nlanguage = "python"\nsources = ["probe.py", "x.c"]\n'
    actor_dir = write_actor(tmp_path / "probe", toml, {"probe.py": "", "x.c": ""})
    with pytest.raises(BuildFailed, match=r"a Python actor has only \.py sources"):
        build_actor(actor_dir)
