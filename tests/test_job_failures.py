"""Failures that explain themselves and leave nothing behind: a failing cell named as the user's
notebook numbers it, with its traceback; logs that end with the job's own last line; no half
built environments. Real servers, real kernels, real papermill, real pip; cold and warm runners."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest


@pytest.fixture(params=[0, 1], ids=["cold", "warm"])
def warm_runners(request: pytest.FixtureRequest) -> int:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def jp_server_config(jp_server_config, tmp_path, warm_runners):
    jp_server_config["LocalBackend"]["warm_runners"] = warm_runners
    jp_server_config["LocalBackend"]["env_cache_dir"] = str(tmp_path / "envs")
    return jp_server_config


def notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "P"}
    nb.cells = list(cells)
    return nb


def code(source: str, tags: list[str] | None = None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    if tags:
        cell.metadata["tags"] = tags
    return cell


@pytest.fixture
def write_notebook(jp_root_dir: Path):
    def write(name: str, nb: nbformat.NotebookNode) -> str:
        nbformat.write(nb, jp_root_dir / name)
        return name

    return write


async def ended_for_good(api, job: dict[str, Any], timeout: float = 30) -> None:
    """Wait until the job's runner process is gone, so its log holds all it will ever hold
    (a job is reported done before its runner has shut its kernel down)."""
    proc = Path(f"/proc/{job['backend_job_id']}/stat")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = proc.read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return
        if state in ("Z", "X"):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the runner of job {job['id']} is still running")


FAILING = "def label_of(row):\n    return row['label']\n\nlabel_of({})"


async def test_a_failing_cell_is_named_as_the_users_notebook_numbers_it_with_its_traceback(
    api, write_notebook, jp_root_dir
):
    failing = code(FAILING)
    nb = notebook(
        nbformat.v4.new_markdown_cell("# Training"),
        code("epochs = 1", ["parameters"]),
        code("%%mlp_train --gpu T4:1\nprint('launcher')"),
        code("x = epochs"),
        failing,
    )
    path = write_notebook("fails.ipynb", nb)

    done = await api.wait((await api.submit(source={"path": path}, parameters={"epochs": 2}))["id"])

    assert done["state"] == "FAILED"
    lines = done["state_message"].splitlines()
    assert lines[0] == "cell 5 raised KeyError: 'label'"
    assert "label_of({})" in done["state_message"]  # the cell's failing line
    assert "return row['label']" in done["state_message"]  # where the error was raised
    assert "Executing Cell" not in done["state_message"]
    assert "\x1b[" not in done["state_message"]
    details = json.loads(
        (jp_root_dir / done["outputs"]["folder"] / ".mlp" / "status.json.error.json").read_text()
    )
    assert details["cell_index"] == 4 and details["cell_id"] == failing.id
    assert (details["ename"], details["evalue"]) == ("KeyError", "'label'")
    assert any("return row['label']" in part for part in details["traceback"])
    assert not any("\x1b[" in part for part in details["traceback"])


async def test_a_notebook_jobs_log_ends_with_its_own_output(api, write_notebook):
    path = write_notebook("quiet.ipynb", notebook(code("x = 1"), code("print('last words')")))
    job = await api.submit(source={"path": path})
    done = await api.wait(job["id"])
    assert done["state"] == "SUCCEEDED", done["state_message"]
    await ended_for_good(api, done)

    log = await api.log(job["id"])

    assert "Could not destroy zmq context" not in log
    after = log[log.index("last words") + len("last words") :].splitlines()
    assert [line for line in after if line.strip() and not line.startswith("Ending Cell")] == []


@pytest.mark.parametrize("warm_runners", [0], ids=["cold"], indirect=True)
async def test_a_failed_environment_build_leaves_nothing_behind(api, tmp_path):
    job = await api.submit(
        source={"code": "print('never')"},
        requirements=[str(tmp_path / "no-such-pkg-1.0-py3-none-any.whl")],
    )
    done = await api.wait(job["id"], timeout=120)
    await ended_for_good(api, done)

    assert done["state"] == "FAILED"
    assert "installing the requirements failed" in done["state_message"]
    envs = tmp_path / "envs"
    assert not envs.exists() or list(envs.iterdir()) == []
