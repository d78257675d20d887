"""What a local job runs with: its interpreter, its kernel and its environment variables."""

from __future__ import annotations

import json
import os
import subprocess
import time
from typing import Any

from ...core.models import Job
from ...core.sweeps import METRIC_FILE
from ...jobfiles.bundle import JobFolder, kernel_spec_name

KERNELS_TTL_SECONDS = 30.0


def job_environment(
    job: Job, folder: JobFolder, gpus: list[str], env_cache_dir: str, leftover_grace: float
) -> dict[str, str]:
    """The server's environment with what the job's runner and the job's code read."""
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
            # The job's output folder, as on Vertex AI: `jupyter_mlp.report` writes there.
            "MLP_OUTPUT_DIR": str(folder.path),
            # Where cloudml-hypertune writes a trial's metric (read by the sweep driver).
            "CLOUD_ML_HP_METRIC_FILE": str(folder.path / METRIC_FILE),
            "MLP_ENV_CACHE": env_cache_dir,
            "MLP_LEFTOVER_GRACE": str(leftover_grace),
            "PYTHONUNBUFFERED": "1",
            # Also for jobs that asked for none, also with no GPU here: a job sees only the
            # GPUs it was given.
            "CUDA_VISIBLE_DEVICES": ",".join(gpus),
        }
    )
    return env


def warm_runner_job(folder: JobFolder, python: str, default_python: str) -> dict[str, Any] | None:
    """What a warm runner needs to take the job ({bundle, kernel}); None when it cannot: only
    a notebook needing nothing installed, run by the interpreter the warm runners run."""
    manifest = json.loads((folder.bundle / "manifest.json").read_text(encoding="utf-8"))
    if manifest["mode"] != "notebook" or manifest["requirements"] or python != default_python:
        return None
    return {"bundle": str(folder.bundle), "kernel": kernel_spec_name(manifest["kernel_name"])}


class InstalledKernels:
    """Names of the Jupyter kernels installed here, rescanned at most every 30 s."""

    def __init__(self) -> None:
        self._found: tuple[float, list[str]] | None = None

    def names(self) -> list[str]:
        now = time.monotonic()
        if self._found is None or now - self._found[0] > KERNELS_TTL_SECONDS:
            from jupyter_client.kernelspec import KernelSpecManager

            self._found = (now, sorted(KernelSpecManager().find_kernel_specs()))
        return self._found[1]


class Interpreters:
    """Which paths are Python 3 interpreters, each checked once per version of the file."""

    def __init__(self) -> None:
        self._checked: dict[tuple[str, float], str] = {}

    def problem(self, environment: str) -> str:
        """Why `environment` cannot run a job ("" when it is a Python 3 interpreter)."""
        try:
            key = (environment, os.stat(environment).st_mtime)
        except (OSError, ValueError):
            return f"'{environment}' does not exist here; give the path of a Python interpreter"
        if key not in self._checked:
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
            self._checked[key] = "" if ok else f"'{environment}' is not a Python 3 interpreter"
        return self._checked[key]
