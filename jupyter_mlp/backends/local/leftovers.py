"""What an ended job left running, found and ended.

`job_processes` finds what is left of a job after its runner ended (its session, its
descendants, anything started with its environment), and `Drain` ends it: SIGTERM, then
SIGKILL after a grace period, holding the job's GPUs until it is gone.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .processes import process_start_ticks


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
