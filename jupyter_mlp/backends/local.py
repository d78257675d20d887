"""The embedded default backend: jobs run as child processes on this machine.

Each job is the bundle's standalone runner in its own process group, writing to a log file,
with free local GPUs assigned through CUDA_VISIBLE_DEVICES. Jobs outlive the server: the
runner records the exit status next to the log, and `poll` reads it back for jobs that
an earlier server process started.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from jupyter_core.paths import jupyter_data_dir
from traitlets import Int, List, Unicode, default

from .. import runner
from ..bundle import JobFolder, SourcePlan, notebook_errors
from ..catalog.local import LocalGpu, gpu_inventory, machine_summary
from ..models import FieldError, Job, JobSpec, JobState
from .base import Backend, BackendStatus, Launch, Observation

LAUNCH_GRACE_SECONDS = 30.0


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
    ) -> None:
        self.python = python
        self.warm_runners = warm_runners
        self.warm_kernel = warm_kernel
        self.warm_log = warm_log
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._warm: list[subprocess.Popen[bytes]] = []

    def launch(
        self,
        command: list[str],
        cwd: Path,
        env: dict[str, str],
        log: Path,
        notebook: dict[str, Any] | None = None,
    ) -> int:
        """Start the job; `notebook` ({bundle, kernel}) lets a warm runner take it."""
        child = self._take_warm(notebook, cwd, env, log) if notebook else None
        if child is None:
            with open(log, "ab") as log_file:
                child = subprocess.Popen(
                    command,
                    cwd=cwd,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group: cancel reaches grandchildren
                )
        self._children[child.pid] = child
        return child.pid

    def reap(self, pid: int) -> int | None:
        """The exit code of a child this launcher started and that has ended, else None.

        Every ended child is reaped on the way, also those whose job already ended on the
        runner's word (a warm runner tidying up), so none is left a zombie.
        """
        ended = {p: c.returncode for p, c in self._children.items() if c.poll() is not None}
        for done in ended:
            del self._children[done]
        return ended.get(pid)

    def fill_warm(self) -> None:
        """Start warm runners until `warm_runners` are waiting."""
        self._warm = [runner for runner in self._warm if runner.poll() is None]
        while len(self._warm) < self.warm_runners:
            log = open(self.warm_log, "ab") if self.warm_log else subprocess.DEVNULL
            try:
                self._warm.append(
                    subprocess.Popen(
                        [self.python, "-u", runner.__file__, "--warm", self.warm_kernel],
                        stdin=subprocess.PIPE,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
            finally:
                if log is not subprocess.DEVNULL:
                    log.close()  # type: ignore[union-attr]

    def warm_pids(self) -> list[int]:
        """Process ids of the warm runners waiting for a job."""
        return [runner.pid for runner in self._warm if runner.poll() is None]

    def close(self) -> None:
        """Let the waiting warm runners go: they shut their kernels down and exit."""
        for waiting in self._warm:
            if waiting.stdin:
                waiting.stdin.close()
        self._warm = []

    def _take_warm(
        self, notebook: dict[str, Any], cwd: Path, env: dict[str, str], log: Path
    ) -> subprocess.Popen[bytes] | None:
        if notebook["kernel"] != self.warm_kernel:
            return None
        self._warm = [runner for runner in self._warm if runner.poll() is None]
        if not self._warm:
            self.fill_warm()  # for the next job; this one starts cold
            return None
        chosen = self._warm.pop(0)
        assignment = {"bundle": notebook["bundle"], "cwd": str(cwd), "env": env, "log": str(log)}
        assert chosen.stdin is not None
        try:
            chosen.stdin.write(json.dumps(assignment).encode() + b"\n")
            chosen.stdin.close()
        except OSError:  # it died between the check and the write
            return None
        finally:
            self.fill_warm()
        return chosen


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


class LocalBackend(Backend):
    """Runs jobs as child processes on the machine the Jupyter server runs on."""

    name: ClassVar[str] = "local"

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
        self.launcher = ProcessLauncher(self.python, self.warm_runners, self.warm_kernel, warm_log)
        self.launcher.fill_warm()
        self._gpus: tuple[list[LocalGpu], str] | None = None

    def gpus(self) -> list[LocalGpu]:
        """The GPU inventory, looked up once per backend (NVML is slow to initialise)."""
        if self._gpus is None:
            self._gpus = gpu_inventory(self.gpu_ids)
        return self._gpus[0]

    def kernels(self) -> list[str]:
        """Names of the Jupyter kernels installed for the job's Python."""
        from jupyter_client.kernelspec import KernelSpecManager

        return sorted(KernelSpecManager().find_kernel_specs())

    def status(self) -> BackendStatus:
        gpus = self.gpus()
        how = self._gpus[1] if self._gpus else ""
        return BackendStatus(
            name=self.name,
            available=True,
            configured=True,
            reason=f"runs jobs on this machine; {len(gpus)} GPU(s) ({how})",
        )

    def inventory(self, holders: dict[str, str]) -> dict[str, Any]:
        """This machine for GET /mlp/catalog?backend=local: GPUs (with the job holding each),
        CPUs and memory. `holders` maps GPU ids to the ids of the jobs using them.

        Looked up afresh (unlike admission's cached list), so memory and utilization are now's."""
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
        errors = notebook_errors(plan, spec.parameters, self.kernels()) if plan else []
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
        if spec.environment and not os.access(spec.environment, os.X_OK):
            errors.append(
                FieldError(
                    field="environment",
                    message=f"'{spec.environment}' is not an executable Python interpreter here",
                    suggestions=[self.python],
                )
            )
        return errors

    def admit(self, queued: list[Job], active: list[tuple[Job, dict[str, Any]]]) -> list[Job]:
        # First come, first served: a job that does not fit blocks the GPU jobs behind it, so a
        # job asking for many GPUs is never starved by a stream of small ones. Jobs that need no
        # GPU only wait for a concurrency slot.
        slots = self.max_concurrent_jobs - len(active)
        free = len(self.gpus()) - sum(len(runtime.get("gpus", [])) for _, runtime in active)
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
        self, job: Job, folder: JobFolder, active: list[tuple[Job, dict[str, Any]]]
    ) -> Launch:
        busy = {gpu for _, runtime in active for gpu in runtime.get("gpus", [])}
        free = [gpu.id for gpu in self.gpus() if gpu.id not in busy]
        gpus = free[: job.spec.resources.accelerator_count]
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
                "MLP_ENV_CACHE": self.env_cache_dir,
                "PYTHONUNBUFFERED": "1",
            }
        )
        if self.gpus():
            # Also for jobs that asked for none: they must not touch another job's GPUs.
            env["CUDA_VISIBLE_DEVICES"] = ",".join(gpus)
        python = job.spec.environment or self.python
        command = [python, "-u", str(folder.bundle / "runner.py"), str(folder.bundle)]
        manifest = json.loads((folder.bundle / "manifest.json").read_text(encoding="utf-8"))
        notebook = None
        if (
            manifest["mode"] == "notebook"
            and not manifest["requirements"]
            and python == self.python
        ):
            notebook = {"bundle": str(folder.bundle), "kernel": manifest["kernel_name"]}
        pid = self.launcher.launch(command, folder.path, env, folder.log, notebook)
        runtime = {"pid": pid, "start_ticks": process_start_ticks(pid), "gpus": gpus}
        return Launch(runtime=runtime, backend_job_id=str(pid))

    async def poll(self, job: Job, runtime: dict[str, Any]) -> Observation:
        pid = runtime.get("pid")
        folder = JobFolder(Path(runtime["folder"]))
        status = folder.read_status()
        if pid is None:
            # Claimed by a manager that is launching it right now, or by one that died trying.
            claimed_at = next(
                (t.at for t in reversed(job.transitions) if t.state is JobState.STARTING), None
            )
            if (
                claimed_at
                and (datetime.now(UTC) - claimed_at).total_seconds() < LAUNCH_GRACE_SECONDS
            ):
                return Observation()
            return Observation(JobState.FAILED, message="the job's process was never recorded")
        exit_code = self.launcher.reap(pid)
        # A success the runner recorded is final even while it still tidies up (a kernel
        # shutting down). A failure or a cancel waits until the process is gone.
        succeeded = status.get("phase") == "exited" and status.get("exit_code") == 0
        if exit_code is None and not succeeded and self._alive(pid, runtime.get("start_ticks")):
            if status.get("phase") == "running":
                return Observation(JobState.RUNNING, backend_state="running")
            return Observation()
        # The process has ended: the runner's record says how the job itself ended.
        if status.get("phase") == "exited":
            exit_code = int(status["exit_code"])
        if exit_code is None:
            return Observation(
                JobState.FAILED,
                backend_state="vanished",
                message="the job's process is gone and recorded no exit status "
                "(killed, or the machine restarted)",
            )
        if exit_code == 0:
            return Observation(JobState.SUCCEEDED, backend_state="exit 0")
        if status.get("message"):
            return Observation(
                JobState.FAILED, backend_state=f"exit {exit_code}", message=status["message"]
            )
        if exit_code < 0:
            name = signal.Signals(-exit_code).name if -exit_code in signal.valid_signals() else ""
            return Observation(
                JobState.FAILED,
                backend_state=f"signal {-exit_code}",
                message=f"killed by signal {-exit_code} {name}".strip(),
            )
        return Observation(
            JobState.FAILED, backend_state=f"exit {exit_code}", message=f"exit code {exit_code}"
        )

    async def cancel(self, job: Job, runtime: dict[str, Any], force: bool = False) -> None:
        pid = runtime.get("pid")
        # A forced stop goes to the group even when the runner is gone: a grandchild may linger.
        if pid is None or not (force or self._alive(pid, runtime.get("start_ticks"))):
            return
        try:
            os.killpg(pid, signal.SIGKILL if force else signal.SIGTERM)
        except ProcessLookupError:
            pass

    def close(self) -> None:
        self.launcher.close()

    def _alive(self, pid: int, start_ticks: int | None) -> bool:
        ticks = process_start_ticks(pid)
        return ticks is not None and (start_ticks is None or ticks == start_ticks)
