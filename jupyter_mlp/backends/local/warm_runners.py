"""The warm runner pool: runner processes waiting, papermill imported and a kernel started.

A notebook job that needs nothing special (no requirements, the default interpreter and kernel)
is handed to a waiting runner instead of starting a process, so it starts without those costs.
Each waits for its assignment on its stdin, which the job's code never holds: the job's key
comes with it there.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path
from typing import Any

from ...jobfiles import runner

# How long a job that took a warm runner has the machine to itself before its replacement starts.
WARM_REFILL_DELAY_SECONDS = 1.0
# How long after a job's end its replacement waits (for the server to record the end first).
WARM_REFILL_AFTER_END_SECONDS = 0.25


class WarmRunners:
    """Keeps `size` warm runners of `kernel` waiting, each with the read end of its status pipe."""

    def __init__(self, python: str, size: int, kernel: str, log: Path | None) -> None:
        self.python = python
        self.size = size
        self.kernel = kernel
        self.log = log
        self._waiting: list[tuple[subprocess.Popen[bytes], int]] = []
        self._closed = False

    def short(self) -> bool:
        """Whether fewer runners wait than are wanted."""
        return len(self._waiting) < self.size

    def fill(self) -> None:
        """Start warm runners until `size` are waiting."""
        if self._closed:
            return
        self._drop_dead()
        while self.short():
            log = open(self.log, "ab") if self.log else subprocess.DEVNULL
            read_end, write_end = os.pipe()
            try:
                warm = subprocess.Popen(
                    [self.python, "-u", runner.__file__, "--warm", self.kernel],
                    stdin=subprocess.PIPE,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, "MLP_STATUS_FD": str(write_end)},
                    pass_fds=(write_end,),
                    start_new_session=True,
                )
            except BaseException:
                os.close(read_end)
                raise
            finally:
                os.close(write_end)
                if log is not subprocess.DEVNULL:
                    log.close()  # type: ignore[union-attr]
            self._waiting.append((warm, read_end))

    def pids(self) -> list[int]:
        """Process ids of the warm runners waiting for a job."""
        return [warm.pid for warm, _ in self._waiting if warm.poll() is None]

    def take(
        self, notebook: dict[str, Any], cwd: Path, env: dict[str, str], log: Path, key: bytes
    ) -> tuple[subprocess.Popen[bytes], int] | None:
        """Hand the notebook job ({bundle, kernel}) to a waiting runner: that runner and the
        read end of its status pipe; None when none can take it (the job then starts cold)."""
        if notebook["kernel"] != self.kernel:
            return None
        self._drop_dead()
        if not self._waiting:
            self._fill_later()  # for the next job; this one starts cold
            return None
        chosen, read_end = self._waiting.pop(0)
        assignment = {
            "bundle": notebook["bundle"],
            "cwd": str(cwd),
            "env": env,
            "log": str(log),
            "status_key": key.hex(),  # on its stdin, which the kernel (the job's code) never held
        }
        assert chosen.stdin is not None
        try:
            chosen.stdin.write(json.dumps(assignment).encode() + b"\n")
            chosen.stdin.close()
        except OSError:  # it died between the check and the write
            os.close(read_end)
            return None
        finally:
            self._fill_later()
        return chosen, read_end

    def close(self) -> None:
        """Let the waiting runners go: they shut their kernels down and exit."""
        self._closed = True
        for waiting, read_end in self._waiting:
            if waiting.stdin:
                waiting.stdin.close()
            os.close(read_end)
        self._waiting = []

    def _fill_later(self) -> None:
        """Replace a taken warm runner when the job that took it ends, or after
        WARM_REFILL_DELAY_SECONDS if it runs on: starting one costs seconds of CPU (an
        interpreter, papermill's imports, a kernel) that a short job would otherwise share."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.fill()
            return
        loop.call_later(WARM_REFILL_DELAY_SECONDS, self.fill)

    def _drop_dead(self) -> None:
        ready = []
        for warm, read_end in self._waiting:
            if warm.poll() is None:
                ready.append((warm, read_end))
            else:
                os.close(read_end)
        self._waiting = ready
