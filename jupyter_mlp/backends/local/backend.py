"""The embedded default backend: jobs run as child processes on this machine.

Each job is the bundle's standalone runner in a session of its own, writing to a log file, with
free local GPUs assigned through CUDA_VISIBLE_DEVICES. How a job ended comes from what the
supervising side observed: the runner's report on its status pipe and its exit code, for jobs
this server started; the status file the runner writes, for jobs an earlier server started
(they outlive the server). The job's code can write both, so only records signed with the job's
key count (see `status_records`); a runner that ended without a signed outcome means the job FAILED.
When a job ends, whatever it left running is ended too (by its runner, the reaper of all its
orphans, then by a drain here for anything else of it), and its GPUs are handed out again only
once that is gone.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any, ClassVar

from jupyter_core.paths import jupyter_data_dir
from pydantic import Field
from traitlets import Int, List, Unicode, default

from ...core.metrics import METRICS_FILE, FileTail
from ...core.models import FieldError, Job, JobKind, JobSpec, JobState, MLPError
from ...jobfiles import etl
from ...jobfiles.bundle import JobFolder, SourcePlan, notebook_errors
from ..base import Backend, BackendStatus, Launch, LogChunk, Observation, Runtime, Tracked
from ..capabilities import Capabilities
from .admission import first_come_first_served, free_gpus, resource_errors
from .environment import InstalledKernels, Interpreters, job_environment, warm_runner_job
from .files import list_local_outputs, read_file_tail, read_local_log
from .gpus import LocalGpu, gpu_inventory, machine_summary
from .leftovers import Drain, job_processes
from .processes import ProcessLauncher, process_start_ticks
from .status_records import (
    StatusKeys,
    adopted_outcome,
    new_progress,
    own_outcome,
    recorded_runner,
    running,
    signed_status,
)

__all__ = ["LocalBackend", "LocalRuntime", "process_start_ticks"]


class LocalRuntime(Runtime):
    """What the local backend keeps of a job: its runner process and the GPUs it holds."""

    pid: int | None = None
    start_ticks: int | None = None
    gpus: list[str] = Field(default_factory=list)
    # Whether its runner signs its records (false for jobs started before runners did).
    signed: bool = False


# A batch pipeline runs on the FnApiRunner (what Beam's DirectRunner picks for batch, without
# first trying Prism); a streaming one on the BundleBasedDirectRunner, which runs unbounded
# sources and real-time timers.
LOCAL_BATCH_RUNNER = "FnApiRunner"
LOCAL_STREAMING_RUNNER = "BundleBasedDirectRunner"


def pipeline_runner_args(spec: JobSpec) -> list[str]:
    """Beam's runner for a pipeline on this machine, named explicitly: its default first tries
    to download Prism, which behaves differently online and offline."""
    streaming = etl.is_streaming(spec)
    return [f"--runner={LOCAL_STREAMING_RUNNER if streaming else LOCAL_BATCH_RUNNER}"]


class LocalBackend(Backend[LocalRuntime]):
    """Runs jobs as child processes on the machine the Jupyter server runs on."""

    name: ClassVar[str] = "local"
    runtime_model: ClassVar[type[Runtime]] = LocalRuntime
    capabilities: ClassVar[Capabilities] = Capabilities(
        kinds=(JobKind.TRAIN, JobKind.ETL),
        remote=False,
        resource_fields=("accelerator_count",),
        sweeps="trials",
        drain=False,
        progress=False,
        priced=False,
        schedules=True,
        job_id_label="Process id",
        service="this machine",
        unsupported={
            "drain": "a pipeline on this machine stops when it is cancelled; only Dataflow "
            "drains a streaming pipeline",
            "progress": "a job on this machine shows its progress in its log",
            "priced": "jobs on this machine have no list price",
        },
    )

    max_concurrent_jobs = Int(
        help="How many local jobs may run at once; more wait in QUEUED.",
        config=True,
    )

    @default("max_concurrent_jobs")
    def _default_max_concurrent_jobs(self) -> int:
        return max(2, os.cpu_count() or 1)

    gpu_ids = List(
        Unicode(),
        default_value=None,
        allow_none=True,
        config=True,
        help="GPU device ids to hand out instead of detecting them through NVML, e.g. ['0', '1'].",
    )

    python = Unicode(
        sys.executable,
        config=True,
        help="Python interpreter that runs jobs whose spec names no `environment`.",
    )

    env_cache_dir = Unicode(
        config=True,
        help="Where per-job environments (for jobs with requirements) are kept and reused.",
    )

    @default("env_cache_dir")
    def _default_env_cache_dir(self) -> str:
        return str(Path(jupyter_data_dir()) / "mlp" / "envs")

    warm_runners = Int(
        1,
        config=True,
        help="Runner processes kept waiting with papermill imported and a kernel started, so "
        "notebook jobs start without those costs. 0 turns them off.",
    )

    warm_kernel = Unicode("python3", config=True, help="Kernel the warm runners start.")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        warm_log = Path(self.env_cache_dir).parent / "warm-runners.log"
        warm_log.parent.mkdir(parents=True, exist_ok=True)
        self.launcher = ProcessLauncher(
            self.python, self.warm_runners, self.warm_kernel, warm_log, on_report=self.wake
        )
        self.launcher.fill_warm()
        # What ended jobs left running (not `drain`: that name is the Backend method of
        # backends that can drain a streaming pipeline, which the manager looks for).
        self.leftovers = Drain(lambda: self.cancel_grace_seconds, self.launcher.reap)
        self.status_keys = StatusKeys()
        self._gpus: tuple[list[LocalGpu], str] | None = None
        self._kernels = InstalledKernels()
        self._interpreters = Interpreters()

    def gpus(self) -> list[LocalGpu]:
        """The GPU inventory, looked up once per backend (NVML is slow to initialise)."""
        if self._gpus is None:
            self._gpus = gpu_inventory(self.gpu_ids)
        return self._gpus[0]

    def status(self) -> BackendStatus:
        gpus = self.gpus()
        how = self._gpus[1] if self._gpus else ""
        return BackendStatus(
            name=self.name,
            available=True,
            configured=True,
            # No GPU is said once, by the resource picker; why NVML found none is the catalog's.
            reason=f"runs jobs on this machine; {len(gpus)} GPU(s) ({how})"
            if gpus
            else "runs jobs on this machine",
            settings={"max_concurrent_jobs": self.max_concurrent_jobs, "python": self.python},
        )

    def catalog(self, region: str | None, active: list[Tracked[LocalRuntime]]) -> dict[str, Any]:
        """This machine: GPUs (with the job holding each), CPUs and memory, looked up afresh
        (unlike admission's cached list), so memory and utilization are now's."""
        holders = {gpu: t.job.id for t in active for gpu in t.runtime.gpus}
        found, how = gpu_inventory(self.gpu_ids)
        gpus = [{**gpu.to_json(), "job_id": holders.get(gpu.id)} for gpu in found]
        return {
            "backend": self.name,
            "gpus": gpus,
            "gpu_detection": how,
            "max_concurrent_jobs": self.max_concurrent_jobs,
            **machine_summary(),
        }

    def validate(self, spec: JobSpec, plan: SourcePlan | None) -> list[FieldError]:
        errors = notebook_errors(plan, self._kernels.names()) if plan else []
        errors += resource_errors(spec, self.gpus())
        if spec.environment:
            problem = self._interpreters.problem(spec.environment)
            if problem:
                errors.append(
                    FieldError(field="environment", message=problem, suggestions=[self.python])
                )
        return errors

    def admit(self, queued: list[Job], active: list[Tracked[LocalRuntime]]) -> list[Job]:
        free = len(self._free_gpus(active))
        return first_come_first_served(queued, self.max_concurrent_jobs - len(active), free)

    async def start(
        self, job: Job, folder: JobFolder, active: list[Tracked[LocalRuntime]]
    ) -> Launch:
        key = self.status_keys.key(folder, job.id)
        # A runner a manager started and died before recording it: a job never starts twice,
        # neither while its runner (cold or warm) runs nor after it ended.
        recorded = recorded_runner(folder, key)
        if recorded is not None:
            pid, ticks, gpus = recorded
            runtime = LocalRuntime(pid=pid, start_ticks=ticks, gpus=gpus, signed=True)
            return Launch(runtime=runtime, backend_job_id=str(pid))
        gpus = self._free_gpus(active)[: job.spec.resources.accelerator_count]
        if len(gpus) < job.spec.resources.accelerator_count:
            raise RuntimeError("not enough free GPUs (admission should have kept it queued)")
        # Half the cancel grace: a forced cancel finds the runner done with its own.
        grace = self.cancel_grace_seconds / 2
        env = job_environment(job, folder, gpus, self.env_cache_dir, grace)
        python = job.spec.environment or self.python
        command = [python, "-u", str(folder.bundle / "runner.py"), str(folder.bundle)]
        notebook = warm_runner_job(folder, python, self.python)
        pid = self.launcher.launch(command, folder.path, env, folder.log, key, notebook)
        started = process_start_ticks(pid)
        runtime = LocalRuntime(pid=pid, start_ticks=started, gpus=gpus, signed=True)
        return Launch(runtime=runtime, backend_job_id=str(pid))

    async def poll(self, tracked: Tracked[LocalRuntime]) -> Observation:
        pid = tracked.runtime.pid
        if pid is None:
            return Observation(JobState.FAILED, message="the job's process was never recorded")
        seen = (
            self._observe_own(tracked, pid)
            if self.launcher.started(pid)
            else self._observe_adopted(tracked, pid)
        )
        if seen.state is not None and seen.state.terminal:
            # What the job left running is found (a walk of /proc) off the event loop.
            leftovers = await asyncio.to_thread(job_processes, tracked.job.id, pid)
            self.leftovers.add(tracked.job.id, leftovers, tracked.runtime.gpus)
        return seen

    async def cancel(self, tracked: Tracked[LocalRuntime], force: bool = False) -> None:
        pid = tracked.runtime.pid
        if pid is None:
            return
        if force:
            # A forced stop reaches everything of the job, also what left its session, but
            # its runner: the reaper of the job's orphans, it ends what this walk missed and
            # records the end. The drain ends the runner too if it has not after a grace.
            leftovers = await asyncio.to_thread(job_processes, tracked.job.id, pid)
            runner_alive = self._alive(pid, tracked.runtime.start_ticks)
            for target in leftovers - {pid} if runner_alive else leftovers:
                try:
                    os.kill(target, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            if runner_alive:
                self.leftovers.add(tracked.job.id, {pid}, tracked.runtime.gpus)
            return
        if not self._alive(pid, tracked.runtime.start_ticks):
            return
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

    async def read_log(
        self,
        tracked: Tracked[LocalRuntime],
        cursor: str | None,
        limit: int,
        tail: int | None = None,
    ) -> LogChunk:
        offset = _byte_cursor(cursor)
        return await asyncio.to_thread(
            read_local_log, tracked.folder, offset, limit, tail, tracked.job.state.terminal
        )

    async def list_outputs(self, tracked: Tracked[LocalRuntime]) -> list[dict[str, Any]]:
        return await asyncio.to_thread(
            list_local_outputs, tracked.job.outputs, tracked.folder, self.root_dir
        )

    async def read_metrics(
        self, tracked: Tracked[LocalRuntime], offset: int, limit: int
    ) -> FileTail | None:
        path = tracked.folder.path / METRICS_FILE
        return await asyncio.to_thread(read_file_tail, path, tracked.folder.path, offset, limit)

    def close(self) -> None:
        self.launcher.close()

    def bundle_args(self, spec: JobSpec) -> list[str]:
        return pipeline_runner_args(spec) if spec.kind is JobKind.ETL else []

    # ----- internals -----

    def _free_gpus(self, active: list[Tracked[LocalRuntime]]) -> list[str]:
        held = {gpu for t in active for gpu in t.runtime.gpus} | self.leftovers.gpus()
        return free_gpus(self.gpus(), held)

    def _observe_own(self, tracked: Tracked[LocalRuntime], pid: int) -> Observation:
        """A job this server started: the runner's signed report on its pipe (or, should the
        pipe have missed it, in its status file) and its exit code; a notebook's progress."""
        report = self.launcher.report(pid)
        exit_code = self.launcher.exit_code(pid)
        ended = own_outcome(report, exit_code, lambda: self._signed_status(tracked)[0])
        if ended is None:
            seen = running(report)
        else:
            self.launcher.forget(pid)
            seen = ended
        seen.progress = new_progress(report, tracked.job.progress)
        return seen

    def _observe_adopted(self, tracked: Tracked[LocalRuntime], pid: int) -> Observation:
        """A job an earlier server started: its runner's signed status file."""
        status, ignored = self._signed_status(tracked)
        seen = adopted_outcome(status, ignored, self._alive(pid, tracked.runtime.start_ticks))
        seen.progress = new_progress(status, tracked.job.progress)
        return seen

    def _signed_status(self, tracked: Tracked[LocalRuntime]) -> tuple[dict[str, Any], bool]:
        key = self.status_keys.key(tracked.folder, tracked.job.id)
        return signed_status(tracked.folder, key, tracked.runtime.signed)

    def _alive(self, pid: int, start_ticks: int | None) -> bool:
        ticks = process_start_ticks(pid)
        return ticks is not None and (start_ticks is None or ticks == start_ticks)


def _byte_cursor(cursor: str | None) -> int:
    """A local log's cursor is a byte offset; anything else is the caller's mistake."""
    if cursor is None or cursor == "":
        return 0
    if not cursor.isdigit() or len(cursor) > 19 or int(cursor) >= 2**63:
        raise MLPError.invalid(
            "cursor", f"'{cursor[:40]}' is not a cursor of this log; use the last next_cursor"
        )
    return int(cursor)
