"""Local jobs end to end: real child processes started through a real Jupyter server."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest

from jupyter_mlp.backends.local.backend import process_start_ticks


async def test_script_job_succeeds_and_its_output_reaches_the_log(api, write_script, jp_root_dir):
    path = write_script("train.py", "import sys\nprint('hello from the job', sys.argv[1:])\n")

    job = await api.submit(kind="train", source={"path": path}, args=["--epochs", "2"])
    assert job["state"] == "QUEUED"
    done = await api.wait(job["id"])

    assert done["state"] == "SUCCEEDED", done["state_message"]
    assert "hello from the job ['--epochs', '2']" in await api.log(job["id"])
    assert done["transitions"][0]["state"] == "QUEUED"
    assert done["transitions"][-1]["state"] == "SUCCEEDED"
    assert done["started_at"] and done["ended_at"]
    # Outputs live under the root dir, one folder per job, so they open in JupyterLab.
    assert (jp_root_dir / done["outputs"]["log"]).is_file()
    assert done["outputs"]["log"].startswith("mlp-jobs/train-")


async def test_job_sees_the_vertex_variables_and_writes_its_model(api, jp_root_dir):
    code = """
import json, os, pathlib
names = ["AIP_MODEL_DIR", "AIP_CHECKPOINT_DIR", "AIP_TENSORBOARD_LOG_DIR", "CLOUD_ML_JOB_ID"]
print(json.dumps({n: os.environ[n] for n in names}))
pathlib.Path(os.environ["AIP_MODEL_DIR"], "model.txt").write_text("weights")
"""
    job = await api.submit(kind="train", name="vertex-style", source={"code": code})
    done = await api.wait(job["id"])

    assert done["state"] == "SUCCEEDED", done["state_message"]
    seen = json.loads((await api.log(job["id"])).strip().splitlines()[-1])
    assert seen["CLOUD_ML_JOB_ID"] == job["id"]
    model_dir = jp_root_dir / done["outputs"]["model_dir"]
    assert Path(seen["AIP_MODEL_DIR"]) == model_dir
    assert (model_dir / "model.txt").read_text() == "weights"
    assert Path(seen["AIP_CHECKPOINT_DIR"]).is_dir()
    assert Path(seen["AIP_TENSORBOARD_LOG_DIR"]).is_dir()


async def test_outputs_list_what_the_job_left_on_disk(api):
    code = (
        "import os\nopen(os.path.join(os.environ['AIP_MODEL_DIR'], 'w.bin'), 'wb').write(b'x' * 10)"
    )
    job = await api.submit(source={"code": code + "\nprint('saved')"})
    await api.wait(job["id"])

    status, answer = await api.call("GET", "jobs", job["id"], "outputs")

    assert status == 200
    outputs = {o["name"]: o for o in answer["outputs"]}
    assert outputs["model_dir"]["type"] == "directory"
    assert outputs["model_dir"]["files"] == ["w.bin"] and outputs["model_dir"]["size"] == 10
    assert outputs["log"]["exists"] and outputs["log"]["size"] == len("saved\n")
    assert outputs["folder"]["file_count"] >= 2  # the log and the model; never the bookkeeping
    assert not any(".mlp" in f for f in outputs["folder"]["files"])
    assert (await api.call("GET", "jobs", "nosuchjob", "outputs"))[0] == 404


async def test_script_parameters_arrive_as_flags(api, write_script):
    path = write_script("params.py", "import sys\nprint(sys.argv[1:])\n")
    job = await api.submit(
        source={"path": path}, parameters={"lr": 0.1, "name": "x", "layers": [1, 2]}
    )
    await api.wait(job["id"])
    assert "['--lr=0.1', '--name=x', '--layers=[1, 2]']" in await api.log(job["id"])


async def test_inline_code_parameters_are_typed_variables(api):
    job = await api.submit(
        source={"code": "print(repr(epochs), repr(rate), repr(tags), repr(fast))"},
        parameters={"epochs": 3, "rate": 0.5, "tags": ["a"], "fast": False},
    )
    await api.wait(job["id"])
    assert "3 0.5 ['a'] False" in await api.log(job["id"])


async def test_nonzero_exit_fails_the_job_with_the_code(api):
    job = await api.submit(source={"code": "import sys\nprint('bad data')\nsys.exit(3)"})
    done = await api.wait(job["id"])

    assert done["state"] == "FAILED"
    assert "exit code 3" in done["state_message"]
    assert done["backend_state"] == "exit 3"
    assert "bad data" in await api.log(job["id"])


async def test_uncaught_exception_fails_the_job_with_the_traceback_in_the_log(api):
    job = await api.submit(source={"code": "raise ValueError('no such column: label')"})
    done = await api.wait(job["id"])

    assert done["state"] == "FAILED"
    assert "ValueError: no such column: label" in await api.log(job["id"])


async def test_cancel_stops_the_job_and_its_grandchildren(api, tmp_path):
    pids = tmp_path / "pids.json"
    code = f"""
import json, os, subprocess, time
child = subprocess.Popen(["sleep", "300"])
open({str(pids)!r}, "w").write(json.dumps([os.getpid(), child.pid]))
print("ready", flush=True)
time.sleep(300)
"""
    job = await api.submit(source={"code": code})
    await api.wait(job["id"], {"RUNNING"})
    while not pids.exists() or not pids.read_text():
        await asyncio.sleep(0.05)
    script_pid, grandchild_pid = json.loads(pids.read_text())
    assert process_start_ticks(grandchild_pid) is not None

    code, cancelling = await api.call("POST", "jobs", job["id"], "cancel")
    assert code == 200
    assert cancelling["state"] in {"CANCELLING", "CANCELLED"}
    done = await api.wait(job["id"])

    assert done["state"] == "CANCELLED"
    assert [t["state"] for t in done["transitions"]][-2:] == ["CANCELLING", "CANCELLED"]
    assert process_start_ticks(script_pid) is None
    assert process_start_ticks(grandchild_pid) is None


async def test_a_job_that_ignores_sigterm_is_killed_after_the_grace_period(api, tmp_path):
    marker = tmp_path / "started"
    code = f"""
import pathlib, signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
pathlib.Path({str(marker)!r}).touch()
time.sleep(300)
"""
    job = await api.submit(source={"code": code})
    while not marker.exists():
        await asyncio.sleep(0.05)
    await api.call("POST", "jobs", job["id"], "cancel")
    done = await api.wait(job["id"], timeout=30)
    assert done["state"] == "CANCELLED"


async def test_cancel_of_a_queued_job_ends_it_before_it_starts(api):
    # Eight slots: fill them so the ninth job has to wait in QUEUED.
    blockers = [await api.submit(source={"code": "import time; time.sleep(300)"}) for _ in range(8)]
    waiting = await api.submit(source={"code": "print('never')"})
    assert (await api.job(waiting["id"]))["state"] == "QUEUED"

    code, cancelled = await api.call("POST", "jobs", waiting["id"], "cancel")

    assert code == 200 and cancelled["state"] == "CANCELLED"
    assert cancelled["started_at"] is None
    for blocker in blockers:
        await api.call("POST", "jobs", blocker["id"], "cancel")
    for blocker in blockers:
        await api.wait(blocker["id"])


async def test_cancel_of_an_ended_job_is_a_conflict(api):
    job = await api.submit(source={"code": "pass"})
    await api.wait(job["id"])
    code, body = await api.call("POST", "jobs", job["id"], "cancel")
    assert code == 409
    assert "already ended" in body["message"]


async def test_rerun_submits_a_new_job_with_the_same_spec(api):
    job = await api.submit(name="again", source={"code": "print('run')"}, args=["a"])
    await api.wait(job["id"])

    code, rerun = await api.call("POST", "jobs", job["id"], "rerun")

    assert code == 201
    assert rerun["id"] != job["id"]
    assert rerun["spec"] == job["spec"] and rerun["name"] == "again"
    assert (await api.wait(rerun["id"]))["state"] == "SUCCEEDED"


async def test_delete_removes_an_ended_job_and_its_files_but_refuses_a_running_one(
    api, jp_root_dir
):
    running = await api.submit(source={"code": "import time; time.sleep(300)"})
    code, body = await api.call("DELETE", "jobs", running["id"])
    assert code == 409 and "cancel it" in body["message"]

    await api.call("POST", "jobs", running["id"], "cancel")
    await api.wait(running["id"])
    folder = jp_root_dir / running["outputs"]["folder"]
    assert folder.is_dir()

    code, _ = await api.call("DELETE", "jobs", running["id"])

    assert code == 204
    assert not folder.exists()
    assert (await api.call("GET", "jobs", running["id"]))[0] == 404


async def test_state_changes_are_emitted_on_the_event_bus(api, jp_serverapp):
    from jupyter_mlp.server.extension import EVENT_SCHEMA_ID

    seen: list[tuple[str, str]] = []

    async def listener(logger, schema_id, data):
        seen.append((data["job_id"], data["state"]))

    jp_serverapp.event_logger.add_listener(schema_id=EVENT_SCHEMA_ID, listener=listener)
    job = await api.submit(source={"code": "pass"})
    await api.wait(job["id"])
    await asyncio.sleep(0.2)

    states = [state for job_id, state in seen if job_id == job["id"]]
    assert states[0] == "QUEUED" and states[-1] == "SUCCEEDED"
    assert "STARTING" in states


@pytest.fixture
def gpu_ids() -> list[str]:
    return ["0", "1"]


async def test_gpu_jobs_queue_until_enough_gpus_are_free_and_never_overlap(api, tmp_path):
    record = tmp_path / "gpu-{}.json"
    code = f"""
import json, os, sys, time
start = time.time()
time.sleep(float(sys.argv[2]))
open({str(record)!r}.format(sys.argv[1]), "w").write(json.dumps(
    {{"devices": os.environ["CUDA_VISIBLE_DEVICES"], "start": start, "end": time.time()}}))
print("saw", os.environ["CUDA_VISIBLE_DEVICES"])
"""
    asks = [1, 1, 1, 2]
    jobs = []
    for index, count in enumerate(asks):
        jobs.append(
            await api.submit(
                source={"code": code},
                args=[str(index), "1.0"],
                resources={"accelerator_count": count},
            )
        )
    # Two GPUs, the first two jobs hold one each: the third must wait for a free GPU.
    await api.wait(jobs[0]["id"], {"STARTING", "RUNNING"})
    await api.wait(jobs[1]["id"], {"STARTING", "RUNNING"})
    assert (await api.job(jobs[2]["id"]))["state"] == "QUEUED"
    assert (await api.job(jobs[3]["id"]))["state"] == "QUEUED"

    for job in jobs:
        assert (await api.wait(job["id"]))["state"] == "SUCCEEDED"

    runs = [json.loads(Path(str(record).format(i)).read_text()) for i in range(len(asks))]
    for run, count in zip(runs, asks, strict=True):
        assert len(run["devices"].split(",")) == count
    assert sorted(runs[3]["devices"].split(",")) == ["0", "1"]
    for i, a in enumerate(runs):
        for b in runs[i + 1 :]:
            overlapping_in_time = a["start"] < b["end"] and b["start"] < a["end"]
            if overlapping_in_time:
                assert not set(a["devices"].split(",")) & set(b["devices"].split(","))


async def test_local_catalog_shows_which_job_holds_each_gpu(api):
    job = await api.submit(
        source={"code": "import time; time.sleep(300)"}, resources={"accelerator_count": 1}
    )
    # RUNNING, not STARTING: a claimed job holds its GPU once its launch is recorded.
    await api.wait(job["id"], {"RUNNING"})

    code, catalog = await api.call("GET", "catalog", backend="local")

    assert code == 200
    assert [(g["id"], g["job_id"], g["source"]) for g in catalog["gpus"]] == [
        ("0", job["id"], "config"),
        ("1", None, "config"),
    ]
    await api.call("POST", "jobs", job["id"], "cancel")
    await api.wait(job["id"])


async def test_a_job_without_gpus_sees_none_of_the_local_gpus(api):
    job = await api.submit(
        source={"code": "import os; print('seen=' + os.environ['CUDA_VISIBLE_DEVICES'] + '.')"}
    )
    await api.wait(job["id"])
    assert "seen=." in await api.log(job["id"])


async def test_local_backend_reports_the_configured_gpus(api):
    code, body = await api.call("GET", "backends")
    assert code == 200
    local = next(b for b in body["backends"] if b["name"] == "local")
    assert local["available"] and local["configured"] and local["default"]
    assert "2 GPU(s)" in local["reason"]


async def test_asking_for_more_gpus_than_exist_is_refused_naming_them(api):
    code, body = await api.call(
        "POST", "jobs", body={"source": {"code": "pass"}, "resources": {"accelerator_count": 3}}
    )
    assert code == 400
    assert body["errors"][0]["field"] == "resources.accelerator_count"
    assert "this machine has 2" in body["errors"][0]["message"]


def test_processes_of_this_test_module_are_gone():
    # Guard against leaking job processes from the tests above (a leak lives 300 s; one being
    # ended as a test's server stops is given a few seconds).
    deadline = time.monotonic() + 5
    while True:
        leftovers = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _is_sleep_300(p)]
        if not leftovers or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert leftovers == [], [(p / "cmdline").read_bytes() for p in leftovers]


def _is_sleep_300(proc: Path) -> bool:
    try:
        cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return cmdline[:2] == [b"sleep", b"300"] and state != "Z" and os.getppid() != int(proc.name)
