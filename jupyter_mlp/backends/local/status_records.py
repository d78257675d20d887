"""How a local job ended, told by the records its runner signed.

A job's runner reports the job's phase and exit status (and a notebook's progress) on its
status pipe and in its status file. The job's code can write both, so each record is signed
with a key of the job's (made from a secret of its jobs folder and its id) and only signed
records count. A runner that ended without a signed outcome means the job FAILED.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ...core.models import JobState, Progress
from ...jobfiles import runner
from ...jobfiles.bundle import JobFolder
from ..base import Observation

NO_OUTCOME = "the job's runner ended and recorded no exit status"
SECRET_FILE = ".runner-secret"


class StatusKeys:
    """The keys job runners sign their records with, one secret per jobs folder."""

    def __init__(self) -> None:
        self._secrets: dict[Path, bytes] = {}

    def key(self, folder: JobFolder, job_id: str) -> bytes:
        """The key of a job's records: derived from the secret of the folder the job's folder
        is in and the job's id, so whoever watches the job next (a restarted server, or a
        server adopting a job a command line started in the same jobs folder) can check them,
        and one job's records never pass for another's."""
        jobs_dir = folder.path.parent
        secret = self._secrets.get(jobs_dir)
        if secret is None:
            secret = self._secrets[jobs_dir] = _jobs_folder_secret(jobs_dir / SECRET_FILE)
        return hmac.new(secret, job_id.encode(), hashlib.sha256).digest()


def signed_status(folder: JobFolder, key: bytes, signed: bool) -> tuple[dict[str, Any], bool]:
    """The runner's last record in the status file if its runner signed it (empty if not),
    and whether a record there was ignored for want of a signature. `signed` is false for
    jobs whose runners did not sign yet: their record is taken as it is."""
    status = folder.read_status()
    if not signed or not status:
        return status, False
    if runner.is_authentic(status, key):
        return status, False
    return {}, True


def recorded_runner(folder: JobFolder, key: bytes) -> tuple[int, int, list[str]] | None:
    """The runner already started for a job, running or ended, as its signed status file
    tells: (pid, start ticks, GPUs); None when no runner signed one."""
    status = folder.read_status()
    if not runner.is_authentic(status, key):
        return None
    pid, ticks = status.get("pid"), status.get("start_ticks")
    if not isinstance(pid, int) or not isinstance(ticks, int):
        return None
    gpus = [gpu for gpu in str(status.get("gpus") or "").split(",") if gpu]
    return pid, ticks, gpus


def own_outcome(
    report: dict[str, Any], exit_code: int | None, file_status: Callable[[], dict[str, Any]]
) -> Observation | None:
    """A job this server started: its runner's signed `report` on the pipe, the runner's
    `exit_code` (None while it runs) and, should the pipe have missed the end, the signed
    status file. None while the job goes on; the observation once it ended."""
    # A success the runner reported is final even while it still tidies up. A failure or a
    # cancel waits until the runner is gone.
    succeeded = report.get("phase") == "exited" and report.get("exit_code") == 0
    if exit_code is None and not succeeded:
        return None
    if report.get("phase") != "exited":
        report = file_status()
    if report.get("phase") != "exited" or not isinstance(report.get("exit_code"), int):
        assert exit_code is not None
        how = outcome(exit_code, "")
        return Observation(
            JobState.FAILED,
            backend_state=how.backend_state,
            message=f"{NO_OUTCOME} ({how.message or 'exit code 0'})",
        )
    return outcome(report["exit_code"], report.get("message", ""))


def adopted_outcome(status: dict[str, Any], ignored: bool, alive: bool) -> Observation:
    """A job an earlier server started: its runner's signed status file, trusted once the
    runner is gone (a job cannot end its own accounting while its runner lives)."""
    if alive:
        return running(status)
    if status.get("phase") != "exited" or not isinstance(status.get("exit_code"), int):
        why = "; a status record it did not sign was ignored" if ignored else ""
        return Observation(
            JobState.FAILED,
            backend_state="vanished",
            message=f"{NO_OUTCOME} (killed, or the machine restarted){why}",
        )
    return outcome(status["exit_code"], status.get("message", ""))


def new_progress(record: dict[str, Any], known: Progress | None) -> Progress | None:
    """How far a notebook job got, as its runner's signed `record` tells, when that is not
    `known` already; None for a record that tells none (a script job) or nothing new."""
    told = record.get("progress")
    if not isinstance(told, dict):
        return None
    try:
        progress = Progress.model_validate(told)
    except ValidationError:
        return None
    return None if progress == known else progress


def running(record: dict[str, Any]) -> Observation:
    """What a live runner's record says: RUNNING once it started the job, else nothing new."""
    if record.get("phase") == "running":
        return Observation(JobState.RUNNING, backend_state="running")
    return Observation()


def outcome(exit_code: int, message: str) -> Observation:
    """The end of a job whose runner recorded `exit_code` (negative: killed by that signal)."""
    if exit_code == 0:
        return Observation(JobState.SUCCEEDED, backend_state="exit 0")
    if message:
        return Observation(JobState.FAILED, backend_state=f"exit {exit_code}", message=message)
    if exit_code < 0:
        number = -exit_code
        name = signal.Signals(number).name if number in signal.valid_signals() else ""
        return Observation(
            JobState.FAILED,
            backend_state=f"signal {number}",
            message=f"killed by signal {number} {name}".strip(),
        )
    return Observation(
        JobState.FAILED, backend_state=f"exit {exit_code}", message=f"exit code {exit_code}"
    )


def _jobs_folder_secret(path: Path) -> bytes:
    """A jobs folder's secret for job keys: made once (readable by this user alone) and read
    by every server and command line that runs local jobs in that folder."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole under another name, then linked in place: of several processes
        # starting at once, one secret wins and none reads half of one.
        made = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        with open(os.open(made, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as handle:
            handle.write(secrets.token_bytes(32))
        try:
            os.link(made, path)
        except FileExistsError:
            pass
        finally:
            made.unlink()
    secret = path.read_bytes()
    if len(secret) != 32:
        raise RuntimeError(f"{path} is not a key of 32 bytes; delete it and a new one is made")
    return secret
