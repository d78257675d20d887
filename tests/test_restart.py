"""A server restart loses nothing: jobs outlive the server that started them.

Each server here is a real `jupyter server` process, so stopping one is a real shutdown.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from jupyter_mlp.backends.local.backend import process_start_ticks


def test_jobs_outlive_a_server_restart_and_are_reconciled(servers, tmp_path):
    go = tmp_path / "go"
    # Each job waits for the test's go-ahead, for two minutes at most (never forever).
    waits = (
        f"import os, time\ndeadline = time.time() + 120\n"
        f"while not os.path.exists({str(go)!r}) and time.time() < deadline: time.sleep(0.05)\n"
    )
    first = servers()
    finishing = first.call(
        "POST", "mlp/jobs", {"name": "finishes", "source": {"code": waits + "print('done')"}}
    )
    failing = first.call(
        "POST", "mlp/jobs", {"name": "fails", "source": {"code": waits + "raise SystemExit(4)"}}
    )
    vanishing = first.call("POST", "mlp/jobs", {"name": "vanishes", "source": {"code": waits}})
    ended_early = first.call(
        "POST", "mlp/jobs", {"name": "early", "source": {"code": "print('quick')"}}
    )
    for job in (finishing, failing, vanishing):
        assert first.wait(job["id"], {"RUNNING"})["state"] == "RUNNING"
    assert first.wait(ended_early["id"], {"SUCCEEDED"})["state"] == "SUCCEEDED"
    pid = int(first.call("GET", f"mlp/jobs/{vanishing['id']}")["backend_job_id"])

    first.stop()
    # With no server watching: one job is killed outright, the others finish on their own.
    assert process_start_ticks(pid) is not None, "the job died with the server"
    os.killpg(pid, signal.SIGKILL)
    go.touch()
    time.sleep(1.0)

    second = servers()
    finished = second.wait(finishing["id"], {"SUCCEEDED", "FAILED", "CANCELLED"})
    failed = second.wait(failing["id"], {"SUCCEEDED", "FAILED", "CANCELLED"})
    vanished = second.wait(vanishing["id"], {"SUCCEEDED", "FAILED", "CANCELLED"})

    assert finished["state"] == "SUCCEEDED"
    assert failed["state"] == "FAILED" and "exit code 4" in failed["state_message"]
    assert vanished["state"] == "FAILED" and "recorded no exit status" in vanished["state_message"]
    assert second.call("GET", f"mlp/jobs/{ended_early['id']}")["state"] == "SUCCEEDED"
    assert [j["name"] for j in second.call("GET", "mlp/jobs")["jobs"]] == [
        "early",
        "vanishes",
        "fails",
        "finishes",
    ]


def test_a_job_still_running_after_a_restart_is_watched_and_can_be_cancelled(servers, tmp_path):
    first = servers()
    job = first.call(
        "POST",
        "mlp/jobs",
        {"source": {"code": "import time\nprint('up', flush=True)\ntime.sleep(300)"}},
    )
    assert first.wait(job["id"], {"RUNNING"})["state"] == "RUNNING"
    first.stop()

    second = servers()
    watched = second.wait(job["id"], {"RUNNING"})
    assert watched["state"] == "RUNNING"
    second.call("POST", f"mlp/jobs/{job['id']}/cancel", {})
    assert second.wait(job["id"], {"CANCELLED"})["state"] == "CANCELLED"
    assert process_start_ticks(int(watched["backend_job_id"])) is None


def test_server_start_does_not_import_cloud_sdks():
    probe = (
        "import sys\n"
        "from jupyter_mlp.server.extension import MLPExtension\n"
        "from jupyter_mlp.backends import backend_classes\n"
        "backend_classes()\n"
        "heavy = ('google.cloud.aiplatform', 'apache_beam')\n"
        "print([m for m in sys.modules if m.startswith(heavy)])\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "[]"
