"""A real `edgewise` node in a child process, for tests that restart or kill -9 it.

`NodeProcess.start(...)` runs `python -m edgewise.host.cli.main dev ...` (or `serve`), waits
(bounded) for its ready line and parses the URL from it. `stop()` sends SIGINT and waits;
`kill()` sends SIGKILL. Output is kept in a file so that a failing test can show it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

READY = re.compile(r"Edgewise .*ready at (http://\S+)")


@dataclass
class NodeProcess:
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    @classmethod
    def start(cls, args: list[str], log_path: Path, timeout_s: float = 60.0) -> NodeProcess:
        log = log_path.open("wb")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        process = subprocess.Popen(
            [sys.executable, "-m", "edgewise.host.cli.main", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            match = READY.search(log_path.read_text(errors="replace"))
            if match:
                return cls(process, match.group(1), log_path)
            if process.poll() is not None:
                break
            time.sleep(0.05)
        process.kill()
        process.wait(10)
        raise AssertionError(f"node did not start:\n{log_path.read_text(errors='replace')}")

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout_s: float = 20.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout_s)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
