"""jupyter-scheduler in a virtual environment of its own (benchmarks/.venv-scheduler), installed
from the package registry on first use, for side-by-side figures on the same machine."""

from __future__ import annotations

import subprocess
import sys
from functools import cache
from pathlib import Path

from _common import HERE

VENV = HERE / ".venv-scheduler"
PYTHON = VENV / "bin" / "python"


@cache
def scheduler_python() -> str:
    """The interpreter of the scheduler's environment; creates and fills it the first time."""
    if (
        not PYTHON.exists()
        or subprocess.run(
            [str(PYTHON), "-c", "import jupyter_scheduler, ipykernel"], capture_output=True
        ).returncode
    ):
        print(f"installing jupyter-scheduler into {VENV} (once)...", flush=True)
        base = Path(sys.base_prefix) / "bin" / "python3"
        subprocess.run([str(base), "-m", "venv", str(VENV)], check=True)
        # ipykernel: its jobs run in a `python3` kernel of that environment.
        subprocess.run(
            [str(PYTHON), "-m", "pip", "install", "-q", "jupyter-scheduler", "ipykernel"],
            check=True,
        )
    return str(PYTHON)


@cache
def scheduler_version() -> str:
    done = subprocess.run(
        [
            scheduler_python(),
            "-c",
            "import jupyter_scheduler; print(jupyter_scheduler.__version__)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def scheduler_args(root: Path) -> list[str]:
    """Settings of a server with jupyter-scheduler (enabled by its own installed config)."""
    return [f"--SchedulerApp.db_url=sqlite:///{root / 'scheduler.sqlite'}"]
