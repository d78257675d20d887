"""The processes that submit pipelines to Dataflow, as the server starts, follows and stops them.

Each job's pipeline file runs in a process of its own (`python -m jupyter_mlp.jobfiles.etl
--submit`, see `etl.py`) with the options its spec means on Dataflow; that process ends as soon
as Dataflow returned the job's id, which it records in the job's folder next to the record of
the process itself, so a restarted server knows where a submission stands. The process runs in
a session of its own: it outlives this server and is stopped as a group.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...core.models import Job
from ...jobfiles import etl, runner
from ...jobfiles.bundle import JobFolder
from ..gcp.service import local_http
from ..gcp.staging import PACKAGE, VERSION, build_package
from ..local.processes import process_start_ticks
from . import options as dataflow_options

# Seconds the submitting process may take to end by itself once Dataflow has the job.
SUBMITTER_LINGER_SECONDS = 5.0


def submission_of(folder: JobFolder) -> etl.Submission:
    """Where a job's submission is recorded: its folder's `dataflow` records."""
    return etl.Submission(folder.meta / "dataflow")


@dataclass(frozen=True)
class Where:
    """Where a pipeline is submitted: the job's Dataflow name, project and region, and the
    backend's locations, endpoint and service account."""

    job_name: str
    project: str
    region: str
    temp_location: str
    staging_location: str | None
    endpoint: str | None
    service_account: str | None


class Submitter:
    """Starts submitting processes, and knows whether one is alive; stops and reaps them."""

    def __init__(self) -> None:
        # Submitting processes this server started, kept to be reaped when they end.
        self._children: dict[int, subprocess.Popen[bytes]] = {}

    def start(self, job: Job, folder: JobFolder, where: Where) -> tuple[int, int | None]:
        """Start the process that submits the job's pipeline, and record it: (pid, start
        ticks)."""
        files = submission_of(folder)
        files.dir.mkdir(parents=True, exist_ok=True)
        files.report.unlink(missing_ok=True)
        package = files.dir / f"{PACKAGE}-{VERSION}.tar.gz"
        package.write_bytes(build_package(folder.bundle).data)
        manifest = json.loads((folder.bundle / "manifest.json").read_text(encoding="utf-8"))
        options = dataflow_options.pipeline_args(
            job.spec,
            job_id=job.id,
            job_name=job.name,
            target=_target(where),
            requirements_file=(
                str(folder.bundle / "requirements.txt") if manifest["requirements"] else None
            ),
            extra_package=str(package),
        )
        # As for a local job: helper modules next to the pipeline import as they did there.
        env = runner.job_env(
            {**os.environ, "MLP_JOB_ID": job.id, "PYTHONUNBUFFERED": "1"}, manifest, folder.bundle
        )
        command = [sys.executable, "-u", "-m", "jupyter_mlp.jobfiles.etl", "--submit"]
        command += [str(files.report), str(folder.bundle), *options]
        with open(folder.log, "ab") as log:
            log.write(f"[mlp] submitting the pipeline to Dataflow as {where.job_name}\n".encode())
            log.flush()
            child = subprocess.Popen(
                command,
                cwd=folder.path,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # it outlives this server; stopped as a group
            )
        self._children[child.pid] = child
        ticks = process_start_ticks(child.pid)
        etl.write_json(files.submitter, {"pid": child.pid, "start_ticks": ticks})
        return child.pid, ticks

    def alive(self, pid: Any, start_ticks: Any) -> bool:
        """Whether the submitting process `pid` (started at `start_ticks`) still runs."""
        if not isinstance(pid, int):
            return False
        child = self._children.get(pid)
        if child is not None:
            return child.poll() is None
        ticks = process_start_ticks(pid)
        return ticks is not None and ticks == start_ticks

    def stop(self, pid: int | None, start_ticks: int | None, wait: bool = False) -> None:
        """End the submitting process and what it started (its own process group); with
        `wait`, until it has ended (so it makes no create after this), for a few seconds."""
        if pid is None or not self.alive(pid, start_ticks):
            return
        try:
            os.killpg(pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + SUBMITTER_LINGER_SECONDS
        while wait and self.alive(pid, start_ticks):
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
                break
            time.sleep(0.05)

    def reap(self) -> None:
        """Forget the processes that ended (collecting their exit status)."""
        for pid, child in list(self._children.items()):
            if child.poll() is not None:
                del self._children[pid]


def _target(where: Where) -> dataflow_options.DataflowTarget:
    # Beam gives each job a folder of its own under gs:// locations; in a local folder (a
    # local stand-in's) it stages into the folder as it is, so the job's folder is named.
    temp, staging = (
        str(Path(location) / where.job_name) if location and "://" not in location else location
        for location in (where.temp_location, where.staging_location)
    )
    for location in (temp, staging):
        if location and "://" not in location:
            os.makedirs(location, exist_ok=True)
    return dataflow_options.DataflowTarget(
        project=where.project,
        region=where.region,
        temp_location=temp or "",
        staging_location=staging,
        endpoint=where.endpoint,
        no_auth=local_http(where.endpoint),
        service_account=where.service_account,
    )
