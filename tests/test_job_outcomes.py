"""A job's outcome is what its runner saw, never what the job says; a job ends whole.

The job's code runs as the same user as the server, so it can write its status file and reopen
its runner's pipe through /proc. What it writes there must not change how it ended, and nothing
it started, however it hid (double fork, new session, cleared environment), outlives it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from jupyter_mlp.backends.local.backend import process_start_ticks

# Opens every pipe its runner holds (as /proc lets a process of the same user) and claims, on
# each, that the job succeeded; then fails.
FORGES_THROUGH_THE_PIPE = """\
import json, os, sys
forged = json.dumps({"phase": "exited", "exit_code": 0}).encode() + b"\\n"
fds = f"/proc/{os.getppid()}/fd"
written = 0
for name in os.listdir(fds):
    try:
        if not os.readlink(f"{fds}/{name}").startswith("pipe:"):
            continue
        fd = os.open(f"{fds}/{name}", os.O_WRONLY | os.O_NONBLOCK)
        os.write(fd, forged)
        os.close(fd)
        written += 1
    except OSError as exc:
        print(f"pipe {name}: {exc}")
print(f"forged on {written} pipe(s)", flush=True)
sys.exit(7)
"""


async def test_a_success_written_into_the_runners_pipe_does_not_count(api):
    job = await api.submit(source={"code": FORGES_THROUGH_THE_PIPE})
    ended = await api.wait(job["id"])

    assert ended["state"] == "FAILED", await api.log(job["id"])
    assert ended["state_message"] == "exit code 7"


def test_a_success_forged_in_the_status_file_with_the_runner_killed_ends_failed(servers, tmp_path):
    go = tmp_path / "go"
    forges = (
        "import json, os, signal, time\n"
        "deadline = time.time() + 60\n"
        f"while not os.path.exists({str(go)!r}) and time.time() < deadline: time.sleep(0.02)\n"
        "status = os.environ['MLP_STATUS_FILE']\n"
        "runner = json.load(open(status))['pid']\n"
        "json.dump({'phase': 'exited', 'exit_code': 0, 'pid': runner}, open(status, 'w'))\n"
        "os.kill(runner, signal.SIGKILL)\n"
    )
    first = servers()
    job = first.call("POST", "mlp/jobs", {"source": {"code": forges}})
    runner = int(first.wait(job["id"], {"RUNNING"})["backend_job_id"])
    first.stop()

    go.touch()
    deadline = time.monotonic() + 30
    while process_start_ticks(runner) is not None:
        assert time.monotonic() < deadline, "the job never killed its runner"
        time.sleep(0.05)

    ended = servers().wait(job["id"])
    assert ended["state"] == "FAILED"
    assert "runner ended and recorded no exit status" in ended["state_message"]


def daemon_code(pid_file: Path, variant: str) -> str:
    """A job that leaves `sleep 300` running in the way `variant` names, and ends at once."""
    if variant == "background":
        return (
            "import subprocess\n"
            "child = subprocess.Popen(['sleep', '300'])\n"
            f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        )
    setsid = "    os.setsid()\n" if "setsid" in variant else ""
    env = "{}" if variant.endswith("cleared-env") else "dict(os.environ)"
    return (
        "import os, time\n"
        "if os.fork() == 0:\n"
        f"{setsid}"
        "    if os.fork() == 0:\n"
        f"        open({str(pid_file)!r} + '.tmp', 'w').write(str(os.getpid()))\n"
        f"        os.rename({str(pid_file)!r} + '.tmp', {str(pid_file)!r})\n"
        f"        os.execve('/bin/sleep', ['sleep', '300'], {env})\n"
        "    os._exit(0)\n"
        "os.wait()\n"
        f"while not os.path.exists({str(pid_file)!r}): time.sleep(0.01)\n"
    )


@pytest.mark.parametrize(
    "variant", ["background", "double-fork", "double-fork-setsid", "double-fork-setsid-cleared-env"]
)
async def test_nothing_a_job_started_lives_on_once_it_ended(api, tmp_path, variant):
    pid_file = tmp_path / "daemon.pid"
    job = await api.submit(source={"code": daemon_code(pid_file, variant)})

    ended = await api.wait(job["id"])

    assert ended["state"] == "SUCCEEDED", ended["state_message"]
    daemon = int(pid_file.read_text())
    alive = process_start_ticks(daemon) is not None
    if alive:
        os.kill(daemon, signal.SIGKILL)
    assert not alive, f"the {variant} daemon outlived its job"


async def test_a_cancelled_jobs_hidden_daemon_is_ended_with_it(api, tmp_path):
    pid_file = tmp_path / "daemon.pid"
    code = daemon_code(pid_file, "double-fork-setsid-cleared-env") + "time.sleep(300)\n"
    job = await api.submit(source={"code": code})
    await api.wait(job["id"], {"RUNNING"})
    deadline = time.monotonic() + 30
    while not pid_file.exists():
        assert time.monotonic() < deadline, "the daemon never started"
        await asyncio.sleep(0.05)
    daemon = int(pid_file.read_text())

    await api.call("POST", "jobs", job["id"], "cancel")

    assert (await api.wait(job["id"]))["state"] == "CANCELLED"
    alive = process_start_ticks(daemon) is not None
    if alive:
        os.kill(daemon, signal.SIGKILL)
    assert not alive, "the daemon outlived its cancelled job"
