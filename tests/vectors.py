"""The golden vectors of guest ABI v1 (``guest-sdk/abi/v1/vectors``), as tests read them.

``load_vector(stem)`` gives a vector's CBOR bytes and the value its JSON twin holds, decoded by
``from_json`` of ``make_vectors.py`` (the script that writes the vectors), so the JSON convention
for byte strings lives in one place.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

VECTORS = Path(__file__).resolve().parents[1] / "guest-sdk" / "abi" / "v1" / "vectors"

_spec = importlib.util.spec_from_file_location("make_vectors", VECTORS / "make_vectors.py")
assert _spec is not None and _spec.loader is not None
make_vectors = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_vectors)


def load_vector(stem: str) -> tuple[bytes, Any]:
    raw = (VECTORS / f"{stem}.cbor").read_bytes()
    return raw, make_vectors.from_json(json.loads((VECTORS / f"{stem}.json").read_text("utf-8")))
