"""Local jobs are accounted for by what their supervisor observed: exit statuses are never lost,
nothing a job leaves running outlives it, and a job cannot end its own accounting."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from conftest import server_manager

from jupyter_mlp.backends.local.backend import process_start_ticks
from jupyter_mlp.jobfiles.bundle import JobFolder

SLEEPER = "import time\ntime.sleep(60)\n"


async def gone(pid: int, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while process_start_ticks(pid) is not None:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


async def test_an_exit_code_is_kept_while_another_job_runs(api):
    sibling = await api.submit(source={"code": SLEEPER})
    await api.wait(sibling["id"], {"RUNNING"})

    failing = await api.submit(source={"code": "import sys\nsys.exit(3)\n"})
    ended = await api.wait(failing["id"])

    assert ended["state"] == "FAILED"
    assert ended["backend_state"] == "exit 3" and ended["state_message"] == "exit code 3"
    await api.call("POST", "jobs", sibling["id"], "cancel")


async def test_a_job_killed_by_a_signal_says_so_while_another_job_runs(api):
    sibling = await api.submit(source={"code": SLEEPER})
    await api.wait(sibling["id"], {"RUNNING"})

    # The whole group, its runner too: only the exit status of the runner's process tells.
    code = "import os, signal\nos.killpg(os.getpgid(0), signal.SIGKILL)\n"
    killed = await api.submit(source={"code": code})
    ended = await api.wait(killed["id"])

    assert ended["state"] == "FAILED"
    assert "killed by signal 9 SIGKILL" in ended["state_message"]
    await api.call("POST", "jobs", sibling["id"], "cancel")


@pytest.mark.parametrize("new_session", [False, True], ids=["same-session", "own-session"])
async def test_what_a_finished_job_left_running_is_ended(api, tmp_path, new_session):
    pid_file = tmp_path / "background.pid"
    code = (
        "import subprocess\n"
        f"child = subprocess.Popen(['sleep', '300'], start_new_session={new_session})\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
    )
    job = await api.submit(source={"code": code})

    assert (await api.wait(job["id"]))["state"] == "SUCCEEDED"
    assert await gone(int(pid_file.read_text())), "the job's background process lives on"


@pytest.mark.parametrize("gpu_ids", [["0"]])
async def test_a_jobs_gpus_are_handed_out_only_once_what_it_left_is_gone(api, tmp_path):
    pid_file = tmp_path / "stubborn.pid"
    # Its runner (which would end the stubborn child before recording the end) killed: what is
    # left is the server's to end.
    stubborn = (
        "import os, signal, subprocess\n"
        "child = subprocess.Popen(['bash', '-c', 'trap \"\" TERM; sleep 300'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "os.kill(os.getppid(), signal.SIGKILL)\n"
    )
    first = await api.submit(source={"code": stubborn}, resources={"accelerator_count": 1})
    assert (await api.wait(first["id"]))["state"] == "FAILED"
    second = await api.submit(
        source={"code": "print('got the GPU')"}, resources={"accelerator_count": 1}
    )
    leftover = int(pid_file.read_text())

    await asyncio.sleep(0.5)
    assert process_start_ticks(leftover) is not None  # it ignores SIGTERM: alive until SIGKILL
    assert (await api.job(second["id"]))["state"] == "QUEUED"

    assert (await api.wait(second["id"]))["state"] == "SUCCEEDED"
    assert process_start_ticks(leftover) is None


async def test_a_job_cannot_end_its_own_accounting(api):
    code = (
        "import json, os, time\n"
        "open(os.environ['MLP_STATUS_FILE'], 'w').write("
        "json.dumps({'phase': 'exited', 'exit_code': 0}))\n"
        "print('claimed to be done', flush=True)\n"
        "time.sleep(60)\n"
    )
    job = await api.submit(source={"code": code})
    await api.wait(job["id"], {"RUNNING"})
    deadline = time.monotonic() + 30
    while "claimed to be done" not in await api.log(job["id"]):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # several watch rounds

    assert (await api.job(job["id"]))["state"] == "RUNNING"
    code, cancelled = await api.call("POST", "jobs", job["id"], "cancel")
    assert code == 200 and cancelled["state"] == "CANCELLING"
    assert (await api.wait(job["id"]))["state"] == "CANCELLED"


async def test_a_job_on_a_machine_without_gpus_sees_no_gpu(api):
    code = "import os\nprint('devices=' + repr(os.environ.get('CUDA_VISIBLE_DEVICES')))\n"
    job = await api.submit(source={"code": code})
    await api.wait(job["id"])

    assert "devices=''" in await api.log(job["id"])


async def test_a_log_ending_inside_a_character_is_complete_once_the_job_ended(api):
    code = "import sys\nsys.stdout.buffer.write(b'price: 5 \\xe2\\x82')\n"
    job = await api.submit(source={"code": code})
    await api.wait(job["id"])

    status, chunk = await api.call("GET", "jobs", job["id"], "logs")

    assert status == 200 and chunk["complete"] is True
    assert chunk["data"].startswith("price: 5 ") and chunk["next_offset"] == chunk["size"]


async def test_the_log_endpoint_does_not_follow_a_link_out_of_the_jobs_folder(api):
    code = "import os\nos.remove('job.log')\nos.symlink('/etc/passwd', 'job.log')\n"
    job = await api.submit(source={"code": code})
    await api.wait(job["id"])

    status, chunk = await api.call("GET", "jobs", job["id"], "logs")

    assert status == 200 and "root:" not in chunk["data"]
    assert "not followed" in chunk.get("error", "")


async def test_the_outputs_endpoint_does_not_follow_links_out_of_the_jobs_folder(api):
    code = (
        "import os, shutil\nmodel = os.environ['AIP_MODEL_DIR']\n"
        "os.symlink('/etc', os.path.join(model, 'etc'))\n"
        "shutil.rmtree(model)\nos.symlink('/etc', model)\n"
    )
    job = await api.submit(source={"code": code})
    await api.wait(job["id"])

    status, listed = await api.call("GET", "jobs", job["id"], "outputs")

    model = next(o for o in listed["outputs"] if o["name"] == "model_dir")
    assert status == 200 and model["type"] == "link" and "not followed" in model["note"]
    assert "files" not in model


async def test_a_huge_output_folder_is_listed_up_to_a_cap_and_says_so(api):
    code = (
        "import os\nroot = os.environ['AIP_MODEL_DIR']\n"
        "for i in range(25000):\n    open(os.path.join(root, f'part-{i:05d}'), 'w').close()\n"
    )
    job = await api.submit(source={"code": code})
    await api.wait(job["id"])

    status, listed = await api.call("GET", "jobs", job["id"], "outputs")

    model = next(o for o in listed["outputs"] if o["name"] == "model_dir")
    assert status == 200 and model["truncated"] is True and "stopped after" in model["note"]
    assert len(model["files"]) == 200 and model["file_count"] < 25000


async def test_a_cursor_past_any_log_is_refused_naming_it(api):
    job = await api.submit(source={"code": "pass"})
    await api.wait(job["id"])

    for cursor in (str(2**63), "-1", "abc"):
        status, error = await api.call("GET", "jobs", job["id"], "logs", cursor=cursor)
        assert status == 400 and error["errors"][0]["field"] == "cursor", cursor
    status, error = await api.call("GET", "jobs", job["id"], "logs", offset=2**63)
    assert status == 400 and error["errors"][0]["field"] == "offset"


async def test_a_request_body_over_the_limit_is_refused_before_it_is_parsed(api):
    status, error = await api.call("POST", "jobs", raw_body="x" * (3 * 2**20))

    assert status == 413 and "limit" in error["message"]
    assert "xxxx" not in json.dumps(error)


async def test_a_list_page_holds_summaries_not_sources(api):
    big = "x = 1\n" + "# padding\n" * 15_000
    for code in ("pass", big):
        await api.submit(source={"code": code}, name="summary")

    status, page = await api.call("GET", "jobs", limit=50)

    assert status == 200
    sizes = {len(json.dumps(job["spec"])) for job in page["jobs"]}
    assert len(sizes) == 1
    assert all(not job["spec"]["source"].get("code") for job in page["jobs"])
    full = await api.job(page["jobs"][0]["id"])
    assert full["spec"]["source"]["code"] == big


@pytest.mark.parametrize("gpu_ids", [["0", "1"]])
async def test_a_runner_found_again_after_a_lost_launch_keeps_its_gpus(api, jp_serverapp):
    # A manager that died between starting a job's runner and recording it starts the job again
    # later: the runner it finds must hold the GPU it was given, or another job gets it too.
    job = await api.submit(source={"code": SLEEPER}, resources={"accelerator_count": 1})
    running = await api.wait(job["id"], {"RUNNING"})
    manager = await server_manager(jp_serverapp)
    backend = manager.backends["local"]
    stored = (await asyncio.to_thread(manager.store.active, "local", job["id"]))[0]

    found = await backend.start(stored.job, JobFolder(Path(stored.folder)), [])

    assert found.backend_job_id == running["backend_job_id"]  # the same runner, not a new one
    assert found.runtime.gpus == stored.runtime["gpus"] and len(found.runtime.gpus) == 1
    await api.call("POST", "jobs", job["id"], "cancel")


async def test_a_job_that_ended_before_its_lost_launch_was_found_is_not_run_again(
    api, jp_serverapp, tmp_path
):
    runs = tmp_path / "runs"
    job = await api.submit(source={"code": f"open({str(runs)!r}, 'a').write('ran\\n')"})
    ended = await api.wait(job["id"])
    manager = await server_manager(jp_serverapp)
    stored = await asyncio.to_thread(manager.store.get, job["id"])
    folder = await asyncio.to_thread(manager.store.folder, job["id"])

    found = await manager.backends["local"].start(stored, JobFolder(Path(folder)), [])

    assert found.backend_job_id == ended["backend_job_id"]
    await asyncio.sleep(0.5)  # a second run, were one started, would have written by now
    assert runs.read_text() == "ran\n"
