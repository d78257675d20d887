"""A notebook job's progress ("cell 3 of 5" and the running cell's first line) while it runs,
its executed notebook readable as far as it ran, and its log without papermill's cell marks:
real local jobs (a real runner, papermill and kernel), and a Vertex AI job whose status file is
in the Cloud Storage emulator, read with Google's real storage client."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import clouds
import nbformat
from clouds import BUCKET, PROJECT
from fake_vertex import JobState
from google.cloud import storage as gcs
from test_vertex import backend, submit  # the Vertex fixtures, used by name

from jupyter_mlp.core.log_view import readable
from jupyter_mlp.core.models import JobState as Ours

# The stand-ins' fixtures, used by name.
storage_emulator, storage = clouds.storage_emulator, clouds.storage
vertex, logs = clouds.vertex, clouds.logs
__all__ = ["backend", "submit"]

WAITING = "wait_for_gate()  # the test opens the gate"


def gated_notebook(gate: Path) -> nbformat.NotebookNode:
    """Five code cells (and a note, which is no code cell); the third waits for `gate`."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "py"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Training"),
        nbformat.v4.new_code_cell(
            "import pathlib, time\n"
            "def wait_for_gate():\n"
            f"    while not pathlib.Path({str(gate)!r}).exists():\n"
            "        time.sleep(0.02)\n"
            "print('first cell done')"
        ),
        nbformat.v4.new_code_cell("print('second cell done')"),
        nbformat.v4.new_code_cell(f"{WAITING}\nprint('gate opened')"),
        nbformat.v4.new_code_cell("print('fourth cell done')"),
        nbformat.v4.new_code_cell("print('fifth cell done')"),
    ]
    return nb


async def progress_reaches(api: Any, job_id: str, done: int, timeout: float = 60) -> dict:
    """The job once its progress says `done` cells are done (polled as the panel does)."""
    deadline = time.monotonic() + timeout
    while True:
        job = await api.job(job_id)
        progress = job.get("progress") or {}
        if progress.get("cells_done") == done or job["state"] in ("FAILED", "CANCELLED"):
            return job
        assert time.monotonic() < deadline, f"progress never reached {done}: {progress}"
        await asyncio.sleep(0.05)


async def test_a_notebook_job_says_which_cell_runs_and_its_notebook_shows_the_cells_done(
    api, jp_fetch, jp_root_dir
):
    gate = jp_root_dir / "gate"
    nbformat.write(gated_notebook(gate), jp_root_dir / "gated.ipynb")
    job = await api.submit(source={"path": "gated.ipynb"})

    waiting = await progress_reaches(api, job["id"], 2)
    assert waiting["state"] == "RUNNING", waiting["state_message"]
    progress = waiting["progress"]
    assert (progress["cells_done"], progress["cells_total"]) == (2, 5)
    assert (progress["cell"], progress["cell_source"]) == (3, WAITING)
    # The list shows it too.
    _, listed = await api.call("GET", "jobs")
    row = next(j for j in listed["jobs"] if j["id"] == job["id"])
    assert row["progress"]["cells_done"] == 2 and row["progress"]["cell"] == 3
    # The executed notebook opens while the job runs and holds the cells done so far.
    path = waiting["outputs"]["executed_notebook"]
    response = await jp_fetch("api", "contents", path, params={"content": "1"})
    cells = json.loads(response.body)["content"]["cells"]
    shown = json.dumps([cell.get("outputs", []) for cell in cells])
    assert "first cell done" in shown and "second cell done" in shown
    assert "gate opened" not in shown and "fourth cell done" not in shown

    gate.touch()
    done = await api.wait(job["id"])
    assert done["state"] == "SUCCEEDED", done["state_message"]
    assert done["progress"]["cells_done"] == 5 and done["progress"]["cells_total"] == 5
    assert done["progress"]["cell"] is None

    # The log is the job's output: papermill's cell marks and the kernel's TCP warning are
    # in the debug view only.
    _, clean = await api.call("GET", "jobs", job["id"], "logs", limit=1_000_000)
    _, every = await api.call("GET", "jobs", job["id"], "logs", limit=1_000_000, debug="true")
    assert "first cell done\n" in clean["data"] and "fifth cell done\n" in clean["data"]
    assert "Executing Cell" not in clean["data"] and "Ending Cell" not in clean["data"]
    assert "without encryption" not in clean["data"]
    assert "Executing Cell 1---" in every["data"] and "Ending Cell 5---" in every["data"]
    assert clean["next_cursor"] == every["next_cursor"]


async def test_a_script_job_has_no_progress_and_its_log_is_as_printed(api):
    code = "print('Executing Cell 1 is a line of mine')\nprint('done')"
    job = await api.submit(source={"code": code})
    done = await api.wait(job["id"])

    assert done["state"] == "SUCCEEDED" and done["progress"] is None
    assert await api.log(job["id"]) == "Executing Cell 1 is a line of mine\ndone\n"


async def test_a_bad_debug_flag_is_refused_naming_it(api):
    job = await api.submit(source={"code": "pass"})
    code, answer = await api.call("GET", "jobs", job["id"], "logs", debug="maybe")
    assert code == 400 and answer["errors"][0]["field"] == "debug"


def test_the_clean_view_knows_cloud_lines_and_a_wrapped_kernel_warning():
    log = (
        "[trial 2] Executing Cell 3---------------------------------------\n"
        "[trial 2] epoch 1 loss 0.5\n"
        "[W 12:00:01 IPKernelApp] WARNING | Kernel is running over TCP without encryption.\n"
        "    All communication (including code and outputs) is sent in plain text\n"
        "    and is susceptible to eavesdropping.\n"
        "All communication is fine here, says the job\n"
        "[trial 2] Ending Cell 3------------------------------------------\r\n"
        "Executing Cell 3 of my own, with words after it\n"
        "Ending Cell 4-----"
    )
    assert readable(log) == (
        "[trial 2] epoch 1 loss 0.5\n"
        "All communication is fine here, says the job\n"
        "Executing Cell 3 of my own, with words after it\n"
    )


# ----- a Vertex AI notebook job -----


def put_status(job_id: str, progress: dict[str, Any]) -> None:
    record = {"phase": "running", "pid": 7, "progress": progress}
    blob = gcs.Client(project=PROJECT).bucket(BUCKET).blob(f"mlp/{job_id}/status.json")
    blob.upload_from_string(json.dumps(record))


def downloads(storage: Any) -> int:
    return sum(1 for line in storage.requests if "alt=media" in line)


async def test_a_vertex_notebook_jobs_progress_comes_from_its_status_file(
    submit, backend, vertex, storage, tmp_path
):
    fake, _ = vertex
    nbformat.write(gated_notebook(tmp_path / "gate"), tmp_path / "train.ipynb")
    tracked = await submit.started(source={"path": "train.ipynb"})
    executed = "mlp-jobs/x/train.executed.ipynb"
    job = tracked.job.model_copy(update={"outputs": {"executed_notebook": executed}})
    tracked.job = job  # as the manager submits it: a notebook job names its executed notebook
    third = {"cells_done": 2, "cells_total": 7, "cell": 3, "cell_source": "fit(model)"}
    put_status(job.id, third)
    notebook = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    bucket = gcs.Client(project=PROJECT).bucket(BUCKET)
    bucket.blob(f"mlp/{job.id}/train.executed.ipynb").upload_from_string(notebook)
    fake.set_state(tracked.runtime.resource_name, JobState.JOB_STATE_RUNNING)

    seen = (await backend.poll_many([tracked]))[job.id]
    assert seen.state is Ours.RUNNING
    assert seen.progress is not None
    assert (seen.progress.cells_done, seen.progress.cells_total) == (2, 7)
    assert (seen.progress.cell, seen.progress.cell_source) == (3, "fit(model)")
    # The executed notebook, as far as it ran, is in the job's folder: its link opens.
    assert (tracked.folder.path / "train.executed.ipynb").read_bytes() == notebook

    # Unchanged, the status file is not downloaded again.
    tracked.job = job.model_copy(update={"progress": seen.progress})
    tracked.runtime = seen.runtime
    before = downloads(storage)
    again = (await backend.poll_many([tracked]))[job.id]
    assert again.progress is None and downloads(storage) == before

    put_status(job.id, {**third, "cells_done": 7, "cell": None, "cell_source": ""})
    fake.set_state(tracked.runtime.resource_name, JobState.JOB_STATE_SUCCEEDED)
    last = (await backend.poll_many([tracked]))[job.id]
    assert last.state is Ours.SUCCEEDED
    assert last.progress is not None and last.progress.cells_done == 7


async def test_a_vertex_script_job_reads_no_status_file(submit, backend, vertex, storage):
    fake, _ = vertex
    tracked = await submit.started()
    put_status(tracked.job.id, {"cells_done": 1, "cells_total": 2})
    fake.set_state(tracked.runtime.resource_name, JobState.JOB_STATE_RUNNING)
    before = downloads(storage)

    seen = (await backend.poll_many([tracked]))[tracked.job.id]

    assert seen.state is Ours.RUNNING and seen.progress is None
    assert downloads(storage) == before
