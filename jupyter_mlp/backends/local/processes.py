"""Job processes on this machine: starting them, hearing how they ended, ending what they leave.

`ProcessLauncher` starts a job's runner (or hands the job to a warm runner) and keeps, for each
runner it started, its exit code and a pipe on which the runner reports the job's phase and exit
status. The job's processes are of the same user and could reopen that pipe through /proc, so
each runner is given a key of its job's on a descriptor closed before the job starts (a warm
runner: in its assignment), and only records signed with it count. `job_processes` finds what
is left of a job after its runner ended, and `Drain` ends it: SIGTERM, then SIGKILL after a grace
period.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...jobfiles import runner

# How long a job that took a warm runner has the machine to itself before its replacement starts.
WARM_REFILL_DELAY_SECONDS = 1.0
WARM_REFILL_AFTER_END_SECONDS = 0.25
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


def job_processes(job_id: str, runner_pid: int) -> set[int]:
    """Live processes that belong to a job: the runner's session and descendants, and anything
    started with the job's environment (a kernel and what its cells started, a daemon that left
    the session but kept the environment). Never this process or its ancestors."""
    parents: dict[int, int] = {}
    sessions: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] in ("Z", "X"):
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        sessions[pid] = int(fields[3])
    protected = _ancestors(os.getpid(), parents)
    marker = f"MLP_JOB_ID={job_id}".encode()
    found = {pid for pid, sid in sessions.items() if sid == runner_pid or pid == runner_pid}
    for pid in parents:
        if pid in found or pid in protected:
            continue
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0"):
            found.add(pid)
    # Descendants of what was found (a kernel in a session of its own, its children).
    grown = True
    while grown:
        extra = {pid for pid, parent in parents.items() if parent in found and pid not in found}
        found |= extra
        grown = bool(extra)
    return found - protected


def _ancestors(pid: int, parents: dict[int, int]) -> set[int]:
    chain = set()
    while pid > 1 and pid not in chain:
        chain.add(pid)
        pid = parents.get(pid, 0)
    return chain


def signal_all(pids: set[int], sig: signal.Signals) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


class Drain:
    """Ends what ended jobs left running, and holds their GPUs until it is gone.

    A thread of its own, so leftovers are ended on time even when nobody polls: SIGTERM at
    once, SIGKILL after `grace` seconds."""

    def __init__(self, grace: Callable[[], float], reap: Callable[[], None]) -> None:
        self._grace = grace
        self._reap = reap  # collects ended children of this process, so none stays a zombie
        self._lock = threading.Lock()
        self._draining: dict[str, tuple[set[int], list[str], float]] = {}
        self._thread: threading.Thread | None = None

    def add(self, job_id: str, pids: set[int], gpus: list[str]) -> None:
        if not pids:
            return
        signal_all(pids, signal.SIGTERM)
        with self._lock:
            self._draining[job_id] = (pids, gpus, time.monotonic() + self._grace())
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="jupyter-mlp-drain", daemon=True
                )
                self._thread.start()

    def gpus(self) -> set[str]:
        """GPUs still held by what ended jobs left running."""
        with self._lock:
            return {gpu for _, gpus, _ in self._draining.values() for gpu in gpus}

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._draining:
                    self._thread = None
                    return
                items = list(self._draining.items())
            self._reap()
            for job_id, (pids, gpus, deadline) in items:
                alive = {pid for pid in pids if process_start_ticks(pid) is not None}
                if alive and time.monotonic() >= deadline:
                    signal_all(alive, signal.SIGKILL)
                with self._lock:
                    if alive:
                        self._draining[job_id] = (alive, gpus, deadline)
                    else:
                        del self._draining[job_id]
            time.sleep(0.1)


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
        self.python = python
        self.warm_runners = warm_runners
        self.warm_kernel = warm_kernel
        self.warm_log = warm_log
        self.on_report = on_report
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._exit_codes: dict[int, int] = {}
        self._forgotten: set[int] = set()
        self._pipes: dict[int, int] = {}  # runner pid -> read end of its status pipe
        self._reports: dict[int, dict[str, Any]] = {}  # runner pid -> its last signed record
        self._keys: dict[int, bytes] = {}  # runner pid -> the key its records are signed with
        self._partial: dict[int, bytes] = {}
        self._loops: dict[int, asyncio.AbstractEventLoop] = {}  # pipe -> loop watching it
        self._warm: list[tuple[subprocess.Popen[bytes], int]] = []
        self._closed = False
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
        taken = self._take_warm(notebook, cwd, env, log, status_key) if notebook else None
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
        """Start warm runners until `warm_runners` are waiting."""
        if self._closed:
            return
        self._drop_dead_warm()
        while len(self._warm) < self.warm_runners:
            log = open(self.warm_log, "ab") if self.warm_log else subprocess.DEVNULL
            read_end, write_end = os.pipe()
            try:
                warm = subprocess.Popen(
                    [self.python, "-u", runner.__file__, "--warm", self.warm_kernel],
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
            self._warm.append((warm, read_end))

    def warm_pids(self) -> list[int]:
        """Process ids of the warm runners waiting for a job."""
        return [warm.pid for warm, _ in self._warm if warm.poll() is None]

    def close(self) -> None:
        """Let the waiting warm runners go: they shut their kernels down and exit."""
        self._closed = True
        for waiting, read_end in self._warm:
            if waiting.stdin:
                waiting.stdin.close()
            os.close(read_end)
        self._warm = []
        for pid in list(self._pipes):
            self._close_pipe(pid)  # running jobs go on; their runners' reports go to the file

    def _take_warm(
        self, notebook: dict[str, Any], cwd: Path, env: dict[str, str], log: Path, key: bytes
    ) -> tuple[subprocess.Popen[bytes], int] | None:
        if notebook["kernel"] != self.warm_kernel:
            return None
        self._drop_dead_warm()
        if not self._warm:
            self._fill_warm_later()  # for the next job; this one starts cold
            return None
        chosen, read_end = self._warm.pop(0)
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
            self._fill_warm_later()
        return chosen, read_end

    def _fill_warm_later(self) -> None:
        """Replace a taken warm runner when the job that took it ends, or after
        WARM_REFILL_DELAY_SECONDS if it runs on: starting one costs seconds of CPU (an
        interpreter, papermill's imports, a kernel) that a short job would otherwise share."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.fill_warm()
            return
        loop.call_later(WARM_REFILL_DELAY_SECONDS, self.fill_warm)

    def _drop_dead_warm(self) -> None:
        ready = []
        for warm, read_end in self._warm:
            if warm.poll() is None:
                ready.append((warm, read_end))
            else:
                os.close(read_end)
        self._warm = ready

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
        if ended and len(self._warm) < self.warm_runners:
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
