"""The embedded default backend: jobs run as child processes on this machine.

Each job is the bundle's standalone runner in a session of its own, writing to a log file, with
free local GPUs assigned through CUDA_VISIBLE_DEVICES. How a job ended comes from what the
supervising side observed: the runner's report on its status pipe and its exit code, for jobs
this server started; the status file the runner writes, for jobs an earlier server started
(they outlive the server). The job's code can write both, so only records signed with the job's
key count (see `runner`); a runner that ended without a signed outcome means the job FAILED.
When a job ends, whatever it left running is ended too (by its runner, the reaper of all its
orphans, then by a drain here for anything else of it), and its GPUs are handed out again only
once that is gone.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

from jupyter_core.paths import jupyter_data_dir
from pydantic import Field
from traitlets import Int, List, Unicode, default

from ...core.models import FieldError, Job, JobKind, JobSpec, JobState, MLPError
from ...core.sweeps import METRIC_FILE
from ...jobfiles import runner
from ...jobfiles.bundle import JobFolder, SourcePlan, kernel_spec_name, notebook_errors
from ..base import Backend, BackendStatus, Launch, LogChunk, Observation, Runtime, Tracked
from ..capabilities import Capabilities
from .files import list_local_outputs, read_local_log
from .gpus import LocalGpu, gpu_inventory, machine_summary
from .processes import Drain, ProcessLauncher, job_processes, process_start_ticks

__all__ = ["LocalBackend", "LocalRuntime", "process_start_ticks"]

KERNELS_TTL_SECONDS = 30.0
NO_OUTCOME = "the job's runner ended and recorded no exit status"


class LocalRuntime(Runtime):
    """What the local backend keeps of a job: its runner process and the GPUs it holds."""

    pid: int | None = None
    start_ticks: int | None = None
    gpus: list[str] = Field(default_factory=list)
    # Whether its runner signs its records (false for jobs started before runners did).
    signed: bool = False


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
        schedules=False,
        job_id_label="Process id",
        unsupported={
            "drain": "a pipeline on this machine stops when it is cancelled; only Dataflow "
            "drains a streaming pipeline",
            "progress": "a job on this machine shows its progress in its log",
            "priced": "jobs on this machine have no list price",
            "schedules": "jobs cannot be scheduled yet",
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
        self._gpus: tuple[list[LocalGpu], str] | None = None
        self._kernels: tuple[float, list[str]] | None = None
        self._interpreters: dict[tuple[str, float], str] = {}
        self._secrets: dict[Path, bytes] = {}

    def status_key(self, folder: JobFolder, job_id: str) -> bytes:
        """The key a job's runner signs its records with: derived from the secret of the folder
        the job's folder is in and the job's id, so whoever watches the job next (a restarted
        server, or a server adopting a job a command line started in the same jobs folder) can
        check them, and one job's records never pass for another's."""
        jobs_dir = folder.path.parent
        secret = self._secrets.get(jobs_dir)
        if secret is None:
            secret = self._secrets[jobs_dir] = _backend_secret(jobs_dir / ".runner-secret")
        return hmac.new(secret, job_id.encode(), hashlib.sha256).digest()

    def gpus(self) -> list[LocalGpu]:
        """The GPU inventory, looked up once per backend (NVML is slow to initialise)."""
        if self._gpus is None:
            self._gpus = gpu_inventory(self.gpu_ids)
        return self._gpus[0]

    def kernels(self) -> list[str]:
        """Names of the Jupyter kernels installed here (rescanned at most every 30 s)."""
        now = time.monotonic()
        if self._kernels is None or now - self._kernels[0] > KERNELS_TTL_SECONDS:
            from jupyter_client.kernelspec import KernelSpecManager

            self._kernels = (now, sorted(KernelSpecManager().find_kernel_specs()))
        return self._kernels[1]

    def status(self) -> BackendStatus:
        gpus = self.gpus()
        how = self._gpus[1] if self._gpus else ""
        return BackendStatus(
            name=self.name,
            available=True,
            configured=True,
            reason=f"runs jobs on this machine; {len(gpus)} GPU(s) ({how})",
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
        errors = notebook_errors(plan, self.kernels()) if plan else []
        wanted = spec.resources.accelerator_count
        gpus = self.gpus()
        if wanted > len(gpus):
            have = ", ".join(f"{g.id} {g.name}".strip() for g in gpus) or "none"
            errors.append(
                FieldError(
                    field="resources.accelerator_count",
                    message=f"asks for {wanted} GPU(s) but this machine has {len(gpus)} ({have})",
                    suggestions=[str(n) for n in range(len(gpus) + 1)],
                )
            )
        if spec.resources.replica_count > 1:
            errors.append(
                FieldError(
                    field="resources.replica_count",
                    message="the local backend runs one replica; use vertex to distribute",
                    suggestions=["1"],
                )
            )
        if spec.environment:
            problem = self._interpreter_problem(spec.environment)
            if problem:
                errors.append(
                    FieldError(field="environment", message=problem, suggestions=[self.python])
                )
        return errors

    def admit(self, queued: list[Job], active: list[Tracked[LocalRuntime]]) -> list[Job]:
        # First come, first served: a job that does not fit blocks the GPU jobs behind it, so a
        # job asking for many GPUs is never starved by a stream of small ones. Jobs that need no
        # GPU only wait for a concurrency slot.
        slots = self.max_concurrent_jobs - len(active)
        free = len(self._free_gpus(active))
        admitted: list[Job] = []
        gpu_queue_blocked = False
        for job in queued:
            if slots <= 0:
                break
            wanted = job.spec.resources.accelerator_count
            if wanted and (gpu_queue_blocked or wanted > free):
                gpu_queue_blocked = True
                continue
            admitted.append(job)
            slots -= 1
            free -= wanted
        return admitted

    async def start(
        self, job: Job, folder: JobFolder, active: list[Tracked[LocalRuntime]]
    ) -> Launch:
        adopted = self._already_running(folder, job.id)
        if adopted is not None:
            return adopted
        gpus = self._free_gpus(active)[: job.spec.resources.accelerator_count]
        if len(gpus) < job.spec.resources.accelerator_count:
            raise RuntimeError("not enough free GPUs (admission should have kept it queued)")
        env = dict(os.environ)
        env.update(
            {
                # The variables Vertex AI sets, so a script written for it runs unchanged here.
                "AIP_MODEL_DIR": str(folder.model_dir),
                "AIP_CHECKPOINT_DIR": str(folder.checkpoint_dir),
                "AIP_TENSORBOARD_LOG_DIR": str(folder.tensorboard_dir),
                "CLOUD_ML_JOB_ID": job.id,
                "MLP_JOB_ID": job.id,
                "MLP_STATUS_FILE": str(folder.status_file),
                # Where cloudml-hypertune writes a trial's metric (read by the sweep driver).
                "CLOUD_ML_HP_METRIC_FILE": str(folder.path / METRIC_FILE),
                "MLP_ENV_CACHE": self.env_cache_dir,
                # Half the cancel grace: a forced cancel finds the runner done with its own.
                "MLP_LEFTOVER_GRACE": str(self.cancel_grace_seconds / 2),
                "PYTHONUNBUFFERED": "1",
                # Also for jobs that asked for none, also with no GPU here: a job sees only the
                # GPUs it was given.
                "CUDA_VISIBLE_DEVICES": ",".join(gpus),
            }
        )
        python = job.spec.environment or self.python
        command = [python, "-u", str(folder.bundle / "runner.py"), str(folder.bundle)]
        manifest = json.loads((folder.bundle / "manifest.json").read_text(encoding="utf-8"))
        notebook = None
        if (
            manifest["mode"] == "notebook"
            and not manifest["requirements"]
            and python == self.python
        ):
            kernel = kernel_spec_name(manifest["kernel_name"])
            notebook = {"bundle": str(folder.bundle), "kernel": kernel}
        key = self.status_key(folder, job.id)
        pid = self.launcher.launch(command, folder.path, env, folder.log, key, notebook)
        ticks = process_start_ticks(pid)
        runtime = LocalRuntime(pid=pid, start_ticks=ticks, gpus=gpus, signed=True)
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

    def close(self) -> None:
        self.launcher.close()

    # ----- internals -----

    def _free_gpus(self, active: list[Tracked[LocalRuntime]]) -> list[str]:
        busy = {gpu for t in active for gpu in t.runtime.gpus} | self.leftovers.gpus()
        return [gpu.id for gpu in self.gpus() if gpu.id not in busy]

    def _observe_own(self, tracked: Tracked[LocalRuntime], pid: int) -> Observation:
        """A job this server started: the runner's signed report on its pipe (or, should the
        pipe have missed it, in its status file) and its exit code."""
        report = self.launcher.report(pid)
        exit_code = self.launcher.exit_code(pid)
        # A success the runner reported is final even while it still tidies up. A failure or
        # a cancel waits until the runner is gone.
        succeeded = report.get("phase") == "exited" and report.get("exit_code") == 0
        if exit_code is None and not succeeded:
            if report.get("phase") == "running":
                return Observation(JobState.RUNNING, backend_state="running")
            return Observation()
        if report.get("phase") != "exited":
            report = self._signed_status(tracked.folder, tracked.job.id, tracked.runtime)[0]
        self.launcher.forget(pid)
        if report.get("phase") != "exited" or not isinstance(report.get("exit_code"), int):
            assert exit_code is not None
            how = _outcome(exit_code, "")
            return Observation(
                JobState.FAILED,
                backend_state=how.backend_state,
                message=f"{NO_OUTCOME} ({how.message or 'exit code 0'})",
            )
        return _outcome(report["exit_code"], report.get("message", ""))

    def _observe_adopted(self, tracked: Tracked[LocalRuntime], pid: int) -> Observation:
        """A job an earlier server started: its runner's signed status file, trusted once the
        runner is gone (a job cannot end its own accounting while its runner lives)."""
        status, ignored = self._signed_status(tracked.folder, tracked.job.id, tracked.runtime)
        if self._alive(pid, tracked.runtime.start_ticks):
            if status.get("phase") == "running":
                return Observation(JobState.RUNNING, backend_state="running")
            return Observation()
        if status.get("phase") != "exited" or not isinstance(status.get("exit_code"), int):
            why = "; a status record it did not sign was ignored" if ignored else ""
            return Observation(
                JobState.FAILED,
                backend_state="vanished",
                message=f"{NO_OUTCOME} (killed, or the machine restarted){why}",
            )
        return _outcome(status["exit_code"], status.get("message", ""))

    def _signed_status(
        self, folder: JobFolder, job_id: str, runtime: LocalRuntime
    ) -> tuple[dict[str, Any], bool]:
        """The runner's last record in the status file if its runner signed it (empty if not),
        and whether a record there was ignored for want of a signature."""
        status = folder.read_status()
        if not runtime.signed or not status:
            return status, False
        if runner.is_authentic(status, self.status_key(folder, job_id)):
            return status, False
        return {}, True

    def _already_running(self, folder: JobFolder, job_id: str) -> Launch | None:
        """The runner already started for this job (by a manager that died before recording
        it), running or ended: found through its signed status file, so a job is never started
        twice, neither while its runner (cold or warm) runs nor after it ended."""
        status = folder.read_status()
        if not runner.is_authentic(status, self.status_key(folder, job_id)):
            return None
        pid, ticks = status.get("pid"), status.get("start_ticks")
        if not isinstance(pid, int) or not isinstance(ticks, int):
            return None
        gpus = [gpu for gpu in str(status.get("gpus") or "").split(",") if gpu]
        runtime = LocalRuntime(pid=pid, start_ticks=ticks, gpus=gpus, signed=True)
        return Launch(runtime=runtime, backend_job_id=str(pid))

    def _interpreter_problem(self, environment: str) -> str:
        """Why `environment` cannot run a job ("" when it is a Python 3 interpreter)."""
        try:
            key = (environment, os.stat(environment).st_mtime)
        except (OSError, ValueError):
            return f"'{environment}' does not exist here; give the path of a Python interpreter"
        if key not in self._interpreters:
            try:
                result = subprocess.run(
                    [environment, "-c", "import sys; print(sys.version_info[0])"],
                    capture_output=True,
                    timeout=20,
                    stdin=subprocess.DEVNULL,
                )
                ok = result.returncode == 0 and result.stdout.strip() == b"3"
            except (OSError, subprocess.SubprocessError):
                ok = False
            self._interpreters[key] = "" if ok else f"'{environment}' is not a Python 3 interpreter"
        return self._interpreters[key]

    def _alive(self, pid: int, start_ticks: int | None) -> bool:
        ticks = process_start_ticks(pid)
        return ticks is not None and (start_ticks is None or ticks == start_ticks)


def _outcome(exit_code: int, message: str) -> Observation:
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


def _backend_secret(path: Path) -> bytes:
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


def _byte_cursor(cursor: str | None) -> int:
    """A local log's cursor is a byte offset; anything else is the caller's mistake."""
    if cursor is None or cursor == "":
        return 0
    if not cursor.isdigit() or len(cursor) > 19 or int(cursor) >= 2**63:
        raise MLPError.invalid(
            "cursor", f"'{cursor[:40]}' is not a cursor of this log; use the last next_cursor"
        )
    return int(cursor)
