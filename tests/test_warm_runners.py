"""Warm runners: notebook jobs handed to a process that already imported papermill and
started a kernel. The job must not be able to tell, except that it starts sooner."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path

import nbformat
import pytest
from conftest import server_manager

from jupyter_mlp.backends.local import warm_runners
from jupyter_mlp.backends.local.backend import process_start_ticks
from jupyter_mlp.jobfiles.bundle import JobFolder

WARM_LINE = "running in a warm runner"


@pytest.fixture
def jp_server_config(jp_server_config):
    jp_server_config["LocalBackend"]["warm_runners"] = 1
    return jp_server_config


@pytest.fixture
def write_notebook(jp_root_dir: Path):
    def write(name: str, *sources: str, parameters: str = "") -> str:
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "language": "python",
            "display_name": "Python 3",
        }
        if parameters:
            cell = nbformat.v4.new_code_cell(parameters)
            cell.metadata["tags"] = ["parameters"]
            nb.cells.append(cell)
        nb.cells += [nbformat.v4.new_code_cell(source) for source in sources]
        nbformat.write(nb, jp_root_dir / name)
        return name

    return write


async def test_a_notebook_job_runs_in_a_warm_runner_as_it_would_cold(
    api, write_notebook, jp_root_dir
):
    (jp_root_dir / "helpers.py").write_text("GREETING = 'hi from helpers'\n")
    report = (
        "import json, os, helpers\n"
        "print('REPORT ' + json.dumps({'cwd': os.getcwd(), 'job': os.environ['MLP_JOB_ID'],\n"
        "    'model_dir': os.environ['AIP_MODEL_DIR'], 'greeting': helpers.GREETING, 'n': n}))"
    )
    path = write_notebook("warm.ipynb", report, parameters="n = 1")

    job = await api.submit(source={"path": path, "include": ["helpers.py"]}, parameters={"n": 7})
    done = await api.wait(job["id"])

    assert done["state"] == "SUCCEEDED", done["state_message"]
    log = await api.log(job["id"])
    assert WARM_LINE in log
    seen = json.loads(next(line for line in log.splitlines() if line.startswith("REPORT "))[7:])
    folder = jp_root_dir / done["outputs"]["folder"]
    assert seen == {
        "cwd": str(folder),
        "job": job["id"],
        "model_dir": str(folder / "model"),
        "greeting": "hi from helpers",
        "n": 7,
    }
    assert (jp_root_dir / done["outputs"]["executed_notebook"]).is_file()
    # The warm runner reports how far the notebook got, as a cold one does: every code cell.
    assert (done["progress"]["cells_done"], done["progress"]["cells_total"]) == (2, 2)
    assert "Could not destroy zmq context" not in log  # the warm runner's client was let go


async def test_the_next_notebook_job_finds_a_new_warm_runner(api, write_notebook):
    path = write_notebook("again.ipynb", "print('ran')")
    for _ in range(2):
        done = await api.wait((await api.submit(source={"path": path}))["id"])
        assert done["state"] == "SUCCEEDED", done["state_message"]
        assert WARM_LINE in await api.log(done["id"])


async def test_a_taken_warm_runner_is_replaced_when_its_job_ends_not_while_it_starts(
    api, write_notebook, jp_serverapp, tmp_path, monkeypatch
):
    # A replacement costs seconds of CPU; the job that took the last warm runner has the
    # machine to itself until it ends (or the delay passes, here far away).
    monkeypatch.setattr(warm_runners, "WARM_REFILL_DELAY_SECONDS", 600)
    launcher = (await server_manager(jp_serverapp)).backends["local"].launcher
    first = launcher.warm_pids()
    release = tmp_path / "release"
    path = write_notebook(
        "held.ipynb",
        f"import os, time\nwhile not os.path.exists({str(release)!r}):\n    time.sleep(0.05)",
    )
    job = await api.submit(source={"path": path})
    while (await api.job(job["id"]))["state"] != "RUNNING":
        await asyncio.sleep(0.05)
    assert launcher.warm_pids() == []  # taken, and not replaced while the job runs

    release.touch()
    done = await api.wait(job["id"])

    assert done["state"] == "SUCCEEDED", done["state_message"]
    assert WARM_LINE in await api.log(job["id"])
    deadline = asyncio.get_running_loop().time() + 10  # started just after the end is recorded
    while not launcher.warm_pids() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    replacement = launcher.warm_pids()
    assert len(replacement) == 1 and replacement != first


async def test_a_failing_cell_in_a_warm_runner_names_the_cell(api, write_notebook):
    path = write_notebook("warm-fail.ipynb", "x = 1", "raise ValueError('bad batch')")
    done = await api.wait((await api.submit(source={"path": path}))["id"])
    assert done["state"] == "FAILED"
    assert "cell 2" in done["state_message"] and "ValueError: bad batch" in done["state_message"]


async def test_a_warm_job_is_cancelled_with_its_kernel(api, write_notebook, tmp_path):
    marker = tmp_path / "kernel-pid"
    path = write_notebook(
        "warm-sleep.ipynb",
        f"import os, time\nopen({str(marker)!r}, 'w').write(str(os.getpid()))\ntime.sleep(300)",
    )
    job = await api.submit(source={"path": path})
    while not marker.exists() or not marker.read_text():
        await asyncio.sleep(0.05)
    kernel_pid = int(marker.read_text())
    runner_pid = int((await api.job(job["id"]))["backend_job_id"])

    await api.call("POST", "jobs", job["id"], "cancel")
    done = await api.wait(job["id"])

    assert done["state"] == "CANCELLED"
    assert WARM_LINE in await api.log(job["id"])
    assert process_start_ticks(kernel_pid) is None and process_start_ticks(runner_pid) is None


async def test_waiting_warm_runners_exit_when_the_backend_lets_them_go(api, jp_serverapp):
    backend = (await server_manager(jp_serverapp)).backends["local"]
    waiting = backend.launcher.warm_pids()
    assert len(waiting) == 1 and process_start_ticks(waiting[0]) is not None

    backend.close()

    deadline = time.monotonic() + 30
    while process_start_ticks(waiting[0]) is not None and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert process_start_ticks(waiting[0]) is None


async def test_a_success_a_notebook_writes_into_its_warm_runners_pipe_does_not_count(
    api, write_notebook
):
    # The kernel is the warm runner's child: it reopens the runner's pipes through /proc and
    # claims success on each, gives the server time to hear it, then fails.
    forge = (
        "import json, os, time\n"
        "forged = json.dumps({'phase': 'exited', 'exit_code': 0}).encode() + b'\\n'\n"
        "fds = f'/proc/{os.getppid()}/fd'\n"
        "for name in os.listdir(fds):\n"
        "    try:\n"
        "        if os.readlink(f'{fds}/{name}').startswith('pipe:'):\n"
        "            fd = os.open(f'{fds}/{name}', os.O_WRONLY | os.O_NONBLOCK)\n"
        "            os.write(fd, forged)\n"
        "            os.close(fd)\n"
        "    except OSError as exc:\n"
        "        print(name, exc)\n"
        "time.sleep(1)"
    )
    path = write_notebook("warm-forge.ipynb", forge, "raise ValueError('it failed')")
    done = await api.wait((await api.submit(source={"path": path}))["id"])

    assert done["state"] == "FAILED"
    assert "ValueError: it failed" in done["state_message"]


async def test_a_daemon_a_notebook_started_in_a_warm_runner_ends_with_the_job(
    api, write_notebook, tmp_path
):
    pid_file = tmp_path / "daemon.pid"
    hides = (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        f"        open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "        os.execve('/bin/sleep', ['sleep', '300'], {})\n"
        "    os._exit(0)\n"
        "os.wait()\n"
        f"while not os.path.exists({str(pid_file)!r}): time.sleep(0.01)"
    )
    path = write_notebook("warm-daemon.ipynb", hides)
    done = await api.wait((await api.submit(source={"path": path}))["id"])

    assert done["state"] == "SUCCEEDED", done["state_message"]
    daemon = int(pid_file.read_text())
    alive = process_start_ticks(daemon) is not None
    if alive:
        os.kill(daemon, signal.SIGKILL)
    assert not alive, "the notebook's daemon outlived its job"


async def test_a_warm_runner_found_again_after_a_lost_launch_is_not_doubled(
    api, write_notebook, jp_serverapp, tmp_path
):
    release = tmp_path / "release"
    path = write_notebook(
        "lost.ipynb",
        f"import os, time\nwhile not os.path.exists({str(release)!r}):\n    time.sleep(0.05)",
    )
    job = await api.submit(source={"path": path})
    running = await api.wait(job["id"], {"RUNNING"})
    manager = await server_manager(jp_serverapp)
    stored = await asyncio.to_thread(manager.store.get, job["id"])
    folder = await asyncio.to_thread(manager.store.folder, job["id"])

    found = await manager.backends["local"].start(stored, JobFolder(Path(folder)), [])

    assert found.backend_job_id == running["backend_job_id"]
    release.touch()
    assert (await api.wait(job["id"]))["state"] == "SUCCEEDED"
