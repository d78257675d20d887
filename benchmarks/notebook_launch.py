"""How long a small notebook takes as a local job, next to running papermill yourself.

Both run the same two-cell notebook with a parameter, in the same run of this script:
- papermill: `papermill in.ipynb out.ipynb -p n 3` as a fresh process, as a person would;
- jupyter-mlp: JobManager.submit() on the local backend until the job is SUCCEEDED and the
  executed notebook is written (the manager in this process, as in the Jupyter server).

Usage: python benchmarks/notebook_launch.py [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from jupyter_mlp.backends.local import LocalBackend
from jupyter_mlp.manager import JobManager
from jupyter_mlp.store import JobStore


def write_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "language": "python",
        "display_name": "Python 3",
    }
    params = nbformat.v4.new_code_cell("n = 1")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("print(sum(range(n)))")]
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


async def job_seconds(manager: JobManager) -> float:
    started = time.perf_counter()
    job = await manager.submit({"source": {"path": "bench.ipynb"}, "parameters": {"n": 3}})
    while not (await manager.get(job.id)).state.terminal:
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    done = await manager.get(job.id)
    assert done.state.value == "SUCCEEDED", done.state_message
    return elapsed


async def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_notebook(root / "bench.ipynb")
        manager = JobManager(
            JobStore(f"sqlite:///{root / 'mlp.db'}"),
            {"local": LocalBackend(gpu_ids=[])},
            root_dir=root,
            jobs_dir=root / "mlp-jobs",
            poll_interval=0.02,
        )
        manager.start()
        await asyncio.sleep(0.5)  # let the manager (and any warm runner) settle, as a server would
        papermill, ours = [], []
        for run in range(runs):  # interleaved, so drift on the machine hits both alike
            papermill.append(papermill_seconds(root, run))
            ours.append(await job_seconds(manager))
        await manager.stop()
    p, o = statistics.median(papermill), statistics.median(ours)
    print(f"runs: {runs}")
    for label, times in (("papermill CLI", papermill), ("jupyter-mlp local job", ours)):
        spread = f"min {min(times):.3f}, max {max(times):.3f}"
        print(f"{label:<24} median {statistics.median(times):.3f} s  ({spread})")
    print(f"ratio job / papermill    {o / p:.2f}  (target: at most 0.40)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    asyncio.run(main(parser.parse_args().runs))
