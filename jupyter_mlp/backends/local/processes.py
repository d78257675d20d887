"""Job processes on this machine: starting them, hearing how they ended, ending what they leave.

`ProcessLauncher` starts a job's runner (or hands the job to a warm runner) and keeps, for each
runner it started, its exit code and a pipe on which the runner reports the job's phase and exit
status. The job's processes are of the same user and could reopen that pipe through /proc, so
each runner is given a key of its job's on a descriptor closed before the job starts (a warm
runner: in its assignment), and only records signed with it count.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...jobfiles import runner
from .warm_runners import WARM_REFILL_AFTER_END_SECONDS, WarmRunners

# The most of an unfinished line kept from a status pipe (anything longer is not the runner's).
_PARTIAL_LIMIT = 65536


def process_start_ticks(pid: int) -> int | None:
    """Kernel start time of a live (non-zombie) process; None when it is gone.

    Stored at launch and compared later, so a recycled PID is never mistaken for the job.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


class ProcessLauncher:
    """Starts job processes: the one small piece between a started job and its process.

    With `warm_runners` > 0 it keeps that many runner processes waiting, each with papermill
    imported and a kernel started, and hands a notebook job that needs nothing special (no
    requirements, the default interpreter and kernel) to one of them instead of starting a
    process; everything around the launch stays the same.
    """

    def __init__(
        self,
        python: str,
        warm_runners: int = 0,
        warm_kernel: str = "python3",
        warm_log: Path | None = None,
        on_report: Callable[[], None] | None = None,
    ) -> None:
        self.warm = WarmRunners(python, warm_runners, warm_kernel, warm_log)
        self.on_report = on_report
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._exit_codes: dict[int, int] = {}
        self._forgotten: set[int] = set()
        self._pipes: dict[int, int] = {}  # runner pid -> read end of its status pipe
        self._reports: dict[int, dict[str, Any]] = {}  # runner pid -> its last signed record
        self._keys: dict[int, bytes] = {}  # runner pid -> the key its records are signed with
        self._partial: dict[int, bytes] = {}
        self._loops: dict[int, asyncio.AbstractEventLoop] = {}  # pipe -> loop watching it
        self._lock = threading.Lock()

    def launch(
        self,
        command: list[str],
        cwd: Path,
        env: dict[str, str],
        log: Path,
        status_key: bytes,
        notebook: dict[str, Any] | None = None,
    ) -> int:
        """Start the job; its runner signs what it reports with `status_key`, and nothing else
        it reports counts. `notebook` ({bundle, kernel}) lets a warm runner take it."""
        taken = self.warm.take(notebook, cwd, env, log, status_key) if notebook else None
        if taken is None:
            taken = self._start_runner(command, cwd, env, log, status_key)
        child, read_end = taken
        with self._lock:
            self._children[child.pid] = child
            self._keys[child.pid] = status_key
        self._watch_pipe(child.pid, read_end)
        return child.pid

    def _start_runner(
        self, command: list[str], cwd: Path, env: dict[str, str], log: Path, status_key: bytes
    ) -> tuple[subprocess.Popen[bytes], int]:
        read_end, write_end = os.pipe()
        key_read, key_write = os.pipe()
        try:
            # The key waits in a pipe of its own, which the runner reads and closes before it
            # starts anything of the job's (64 bytes: the pipe's buffer holds them).
            os.write(key_write, status_key.hex().encode())
            os.close(key_write)
            key_write = -1
            with open(log, "ab") as log_file:
                child = subprocess.Popen(
                    command,
                    cwd=cwd,
                    env={
                        **env,
                        "MLP_STATUS_FD": str(write_end),
                        "MLP_STATUS_KEY_FD": str(key_read),
                    },
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    pass_fds=(write_end, key_read),
                    start_new_session=True,  # its own session: cancel reaches grandchildren
                )
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)
            os.close(key_read)
            if key_write >= 0:
                os.close(key_write)
        return child, read_end

    def exit_code(self, pid: int) -> int | None:
        """The exit code of a runner this launcher started once it has ended, else None.

        Every ended child is reaped on the way (none is left a zombie) and its code kept until
        `forget`, so a job's status is never lost because another job was looked at first."""
        self.reap()
        with self._lock:
            return self._exit_codes.get(pid)

    def reap(self) -> None:
        """Collect every ended runner (keeping its exit code), so none is left a zombie."""
        with self._lock:
            for done in [p for p, c in self._children.items() if c.poll() is not None]:
                code = self._children.pop(done).returncode
                if done in self._forgotten:
                    self._forgotten.discard(done)
                else:
                    self._exit_codes[done] = code

    def started(self, pid: int) -> bool:
        """Whether this launcher started the runner `pid` (so its word and exit code count)."""
        with self._lock:
            return (pid in self._children and pid not in self._forgotten) or (
                pid in self._exit_codes
            )

    def report(self, pid: int) -> dict[str, Any]:
        """The last signed record the runner `pid` sent on its status pipe; empty when none."""
        self._read_pipe(pid)
        with self._lock:
            return dict(self._reports.get(pid, {}))

    def forget(self, pid: int) -> None:
        """The job of runner `pid` is accounted for: drop what is kept of it."""
        with self._lock:
            self._exit_codes.pop(pid, None)
            self._reports.pop(pid, None)
            self._keys.pop(pid, None)
            if pid in self._children:  # still tidying up: reaped later, its code not kept
                self._forgotten.add(pid)
        self._close_pipe(pid)

    def fill_warm(self) -> None:
        """Start warm runners until as many as wanted are waiting."""
        self.warm.fill()

    def warm_pids(self) -> list[int]:
        """Process ids of the warm runners waiting for a job."""
        return self.warm.pids()

    def close(self) -> None:
        """Let the waiting warm runners go: they shut their kernels down and exit."""
        self.warm.close()
        for pid in list(self._pipes):
            self._close_pipe(pid)  # running jobs go on; their runners' reports go to the file

    # ----- the status pipes -----

    def _watch_pipe(self, pid: int, read_end: int) -> None:
        os.set_blocking(read_end, False)
        with self._lock:
            self._pipes[pid] = read_end
        if self.on_report is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        # The runner's report wakes the manager, so a job's end is noticed as it happens.
        loop.add_reader(read_end, self._on_readable, pid)
        with self._lock:
            self._loops[read_end] = loop

    def _on_readable(self, pid: int) -> None:
        if not self._read_pipe(pid):
            return
        if self.on_report is not None:
            self.on_report()
        with self._lock:
            ended = self._reports.get(pid, {}).get("phase") == "exited"
        if ended and self.warm.short():
            # The machine is free again: the next warm runner starts as soon as the server has
            # recorded this job's end, not meanwhile (an interpreter starting takes a core).
            asyncio.get_running_loop().call_later(WARM_REFILL_AFTER_END_SECONDS, self.fill_warm)

    def _read_pipe(self, pid: int) -> bool:
        """Take what the runner wrote; True when something arrived (or the pipe closed)."""
        with self._lock:
            read_end = self._pipes.get(pid)
        if read_end is None:
            return False
        data = b""
        closed = False
        while True:
            try:
                piece = os.read(read_end, 65536)
            except BlockingIOError:
                break
            except OSError:
                closed = True
                break
            if not piece:
                closed = True
                break
            data += piece
        with self._lock:
            buffered = self._partial.pop(pid, b"") + data
            *lines, rest = buffered.split(b"\n")
            if rest and len(rest) <= _PARTIAL_LIMIT:  # a runner's records are short
                self._partial[pid] = rest
            key = self._keys.get(pid)
            for line in lines:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                # A record the job wrote into the pipe (reopened through /proc) is not signed.
                if isinstance(record, dict) and key and runner.is_authentic(record, key):
                    self._reports[pid] = record
        if closed:
            self._close_pipe(pid)
        return bool(data) or closed

    def _close_pipe(self, pid: int) -> None:
        with self._lock:
            read_end = self._pipes.pop(pid, None)
            self._partial.pop(pid, None)
            loop = self._loops.pop(read_end, None) if read_end is not None else None
        if read_end is None:
            return
        if loop is None:
            os.close(read_end)
            return
        try:
            on_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            _unwatch(loop, read_end)
        elif not loop.is_closed():
            # The loop's selector holds the descriptor: it lets go of it before it is closed.
            loop.call_soon_threadsafe(_unwatch, loop, read_end)
        else:
            os.close(read_end)


def _unwatch(loop: asyncio.AbstractEventLoop, fd: int) -> None:
    loop.remove_reader(fd)
    os.close(fd)
