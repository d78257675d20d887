"""How long a small notebook takes from "run it" to done, four ways, in one run of this script.

The same three-cell notebook with a parameter (`n`, set to 3) runs:
- jupyter-mlp: `POST /mlp/jobs` on a real `jupyter server` (the extension's defaults, warm runners
  included), then `GET /mlp/jobs/{id}` every 50 ms until SUCCEEDED;
- papermill: `papermill in.ipynb out.ipynb -p n 3` as a fresh process, as a person would;
- jupyter-scheduler: `POST /scheduler/jobs` on a real `jupyter server` with jupyter-scheduler
  (installed into benchmarks/.venv-scheduler from the package registry on first use), then
  `GET /scheduler/jobs/{id}` every 50 ms until COMPLETED;
- the floor: the three cells (with `n = 3`) executed on a kernel that is already running.

Usage: python benchmarks/notebook_launch.py [--runs N] [--no-scheduler]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from _common import Server, machine, summary
from _scheduler import scheduler_args, scheduler_python, scheduler_version
from jupyter_client.manager import start_new_kernel

CELLS = ["n = 1", "total = sum(range(n))", "print(total)"]
POLL = 0.05


def write_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "language": "python",
        "display_name": "Python 3",
    }
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nb.cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(nb, path)


def papermill_seconds(root: Path, run: int) -> float:
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "papermill",
            "--no-progress-bar",
            str(root / "bench.ipynb"),
            str(root / f"out-{run}.ipynb"),
            "-p",
            "n",
            "3",
        ],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


async def ours_seconds(server: Server) -> float:
    started = time.perf_counter()
    code, job, _ = await server.call(
        "POST", "mlp/jobs", {"source": {"path": "bench.ipynb"}, "parameters": {"n": 3}}
    )
    assert code == 201, job
    while job["state"] not in ("SUCCEEDED", "FAILED", "CANCELLED"):
        await asyncio.sleep(POLL)
        _, job, _ = await server.call("GET", f"mlp/jobs/{job['id']}")
    elapsed = time.perf_counter() - started
    assert job["state"] == "SUCCEEDED", job["state_message"]
    return elapsed


async def scheduler_seconds(server: Server) -> float:
    started = time.perf_counter()
    code, answer, _ = await server.call(
        "POST",
        "scheduler/jobs",
        {
            "input_uri": "bench.ipynb",
            "input_filename": "bench.ipynb",
            "runtime_environment_name": "python3",
            "output_formats": ["ipynb"],
            "parameters": {"n": "3"},  # its API takes strings, written into the code as is
            "name": "bench",
        },
    )
    assert code == 200, answer
    job_id = answer["job_id"]
    while True:
        _, job, _ = await server.call("GET", f"scheduler/jobs/{job_id}")
        # A new job reads STOPPED until its process starts; STOPPED after a start is an end.
        if job["status"] in ("COMPLETED", "FAILED") or (
            job["status"] == "STOPPED" and job["start_time"]
        ):
            break
        await asyncio.sleep(POLL)
    elapsed = time.perf_counter() - started
    assert job["status"] == "COMPLETED", job
    return elapsed


def floor_seconds(client: object) -> float:
    started = time.perf_counter()
    for source in [CELLS[0], "n = 3", *CELLS[1:]]:  # the parameter injected after the cell
        reply = client.execute_interactive(source, output_hook=lambda msg: None, timeout=60)  # type: ignore[attr-defined]
        assert reply["content"]["status"] == "ok", reply
    return time.perf_counter() - started


async def main(runs: int, with_scheduler: bool) -> None:
    print(f"machine: {machine()}")
    if with_scheduler:
        print(f"jupyter-scheduler {scheduler_version()}")
    figures: dict[str, list[float]] = {"papermill CLI": [], "jupyter-mlp REST": [], "floor": []}
    if with_scheduler:
        figures["jupyter-scheduler REST"] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ours = Server(root / "ours", warm_runners=None)
        write_notebook(ours.root / "bench.ipynb")
        theirs = None
        if with_scheduler:
            theirs = Server(
                root / "theirs",
                mlp=False,
                python=scheduler_python(),
                extra_args=scheduler_args(root / "theirs"),
            )
            shutil.copy(ours.root / "bench.ipynb", theirs.root / "bench.ipynb")
        kernel, client = start_new_kernel(kernel_name="python3")
        try:
            await ours.ready("mlp/backends")
            if theirs is not None:
                await theirs.ready("scheduler/jobs?max_items=1")
            await asyncio.sleep(3)  # let each server settle (warm runners start), as in use
            for run in range(runs):  # interleaved, so drift on the machine hits all alike
                figures["papermill CLI"].append(papermill_seconds(ours.root, run))
                figures["jupyter-mlp REST"].append(await ours_seconds(ours))
                if theirs is not None:
                    figures["jupyter-scheduler REST"].append(await scheduler_seconds(theirs))
                figures["floor"].append(floor_seconds(client))
        finally:
            client.stop_channels()
            kernel.shutdown_kernel(now=True)
            ours.stop()
            if theirs is not None:
                theirs.stop()
    for label, times in figures.items():
        print(summary(label, times))
    o = statistics.median(figures["jupyter-mlp REST"])
    p = statistics.median(figures["papermill CLI"])
    print(f"ratio jupyter-mlp / papermill  {o / p:.2f}  (target: at most 0.40)")
    if with_scheduler:
        s = statistics.median(figures["jupyter-scheduler REST"])
        print(f"ratio jupyter-mlp / scheduler  {o / s:.2f}")
    print(f"jupyter-mlp above the floor    {o - statistics.median(figures['floor']):.3f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-scheduler", action="store_true")
    options = parser.parse_args()
    asyncio.run(main(options.runs, not options.no_scheduler))
