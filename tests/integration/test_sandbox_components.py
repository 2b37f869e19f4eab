"""Components that do not speak the world edgewise:actor/actor@1.0.0 are refused when loaded,
with module.invalid and a message that says why. (Components that do speak it, built by the Python
SDK, run in test_python_guests.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import wasmtime
from edgewise.host.config import LimitsConfig
from edgewise.host.errors import ModuleInvalid
from edgewise.host.sandbox import Sandbox

WRONG_TURN = """
(component
  (core module $m (func (export "f") (result i32) i32.const 0))
  (core instance $i (instantiate $m))
  (func (export "turn") (result u32) (canon lift (core func $i "f"))))
"""


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("(component)", "does not export 'turn'"),
        (WRONG_TURN, "does not export 'turn'"),
        ('(component (import "evil:net/socket" (instance)))', "imports 'evil:net/socket'"),
    ],
)
def test_a_component_of_another_world_is_refused(tmp_path: Path, text: str, says: str) -> None:
    with Sandbox(LimitsConfig(), tmp_path) as sandbox, pytest.raises(ModuleInvalid) as refused:
        sandbox.load(bytes(wasmtime.wat2wasm(text)))
    assert refused.value.code == "module.invalid"
    assert says in refused.value.message


def test_a_component_that_does_not_compile_is_refused(tmp_path: Path) -> None:
    broken = bytes(wasmtime.wat2wasm("(component)")) + b"\x07\xff\xff\xff"
    with Sandbox(LimitsConfig(), tmp_path) as sandbox, pytest.raises(ModuleInvalid) as refused:
        sandbox.load(broken)
    assert "does not compile" in refused.value.message
