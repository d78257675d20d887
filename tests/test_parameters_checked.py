"""Parameters are checked against the source's `parameters` cell on every path (REST, the
command line, the magics), reruns know their origin, and a job id's start names the job."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_processes import JupyterServer, Kernel, isolated_env, write_notebook

from jupyter_mlp.core.store import JobStore

PARAMETERS = (
    "epochs = 10  # passes over the data\n"
    "lr = 0.01\n"
    "optimizer = 'adam'\n"
    "shuffle = False\n"
    "layers = [64, 32]\n"
    "seed = len('abc')\n"
)
NOT_AN_INT = "epochs is an int (default 10); 'abc' is not"
UNDECLARED = "not declared in the parameters cell; papermill will inject it anyway"


def notebook(path: Path) -> None:
    """A training notebook with a `parameters` cell, which a cell job may include."""
    write_notebook(path, [(PARAMETERS, ["parameters", "mlp-include"]), ("print(epochs)", [])])


# ----- REST, in this process's server -----


@pytest.fixture
def train(jp_root_dir: Path) -> str:
    notebook(jp_root_dir / "train.ipynb")
    return "train.ipynb"


def field_errors(answer: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {e["field"]: (e["severity"], e["message"]) for e in answer["errors"]}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", NOT_AN_INT),
        (True, "epochs is an int (default 10); True is not"),
        (2.5, "epochs is an int (default 10); 2.5 is not"),
    ],
)
async def test_a_value_that_cannot_be_the_declared_type_is_refused(api, train, value, message):
    spec = {"source": {"path": train}, "parameters": {"epochs": value}}
    code, answer = await api.call("POST", "jobs", body=spec)
    assert code == 400
    assert field_errors(answer) == {"parameters.epochs": ("error", message)}
    code, checked = await api.call("POST", "validate", body=spec)
    assert code == 200 and checked["valid"] is False
    assert field_errors(checked)["parameters.epochs"] == ("error", message)


async def test_values_of_the_declared_types_are_taken(api, train):
    given = {"epochs": 3, "lr": 1, "optimizer": "sgd", "shuffle": True, "layers": [8]}
    code, checked = await api.call(
        "POST",
        "validate",
        body={"source": {"path": train}, "parameters": {**given, "seed": "anything"}},
    )
    assert code == 200 and checked["valid"] is True, checked["errors"]
    assert checked["errors"] == []
    assert checked["spec"]["parameters"]["lr"] == 1.0


async def test_an_undeclared_parameter_is_a_warning_kept_with_the_job(api, train):
    spec = {"source": {"path": train}, "parameters": {"epochs": 1, "nosuch": 5}}
    code, checked = await api.call("POST", "validate", body=spec)
    assert code == 200 and checked["valid"] is True
    assert field_errors(checked) == {"parameters.nosuch": ("warning", UNDECLARED)}
    job = await api.submit(**spec)
    assert [(w["field"], w["severity"]) for w in job["warnings"]] == [
        ("parameters.nosuch", "warning")
    ]
    assert (await api.job(job["id"]))["warnings"] == job["warnings"]


async def test_the_job_keeps_the_defaults_of_the_parameters_it_leaves(api, train):
    job = await api.submit(source={"path": train}, parameters={"epochs": 2, "lr": 0.1})
    expected = {"optimizer": "adam", "shuffle": False, "layers": [64, 32], "seed": "len('abc')"}
    assert job["parameter_defaults"] == expected
    assert (await api.job(job["id"]))["parameter_defaults"] == expected


async def test_inline_code_is_checked_against_what_it_sets_before_its_parameters_mark(api):
    code = "lr = 0.5\n# [mlp] parameters go here\nprint(lr)\n"
    status, answer = await api.call(
        "POST", "jobs", body={"source": {"code": code}, "parameters": {"lr": "fast"}}
    )
    assert status == 400
    assert field_errors(answer) == {
        "parameters.lr": ("error", "lr is a float (default 0.5); 'fast' is not")
    }


async def test_a_script_takes_any_parameters_as_arguments(api, write_script):
    path = write_script("args.py", "print('ok')\n")
    code, checked = await api.call(
        "POST", "validate", body={"source": {"path": path}, "parameters": {"epochs": "abc"}}
    )
    assert code == 200 and checked["valid"] is True and checked["errors"] == []


async def test_a_rerun_knows_its_origin_by_id_or_a_prefix_of_it(api, write_script):
    path = write_script("quick.py", "print('ok')\n")
    first = await api.submit(source={"path": path}, name="baseline")
    origin = {"id": first["id"], "name": "baseline"}
    code, again = await api.call("POST", "jobs", first["id"][:6], "rerun")
    assert code == 201 and again["rerun_of"] == origin
    code, changed = await api.call(
        "POST", "jobs", body={"source": {"path": path}}, rerun_of=first["id"][:5]
    )
    assert code == 201 and changed["rerun_of"] == origin
    assert (await api.job(changed["id"]))["rerun_of"] == origin
    code, missing = await api.call(
        "POST", "jobs", body={"source": {"path": path}}, rerun_of="0000nosuch"
    )
    assert code == 404 and "0000nosuch" in missing["message"]


async def test_every_job_route_takes_a_unique_prefix_of_the_id(api, write_script):
    job = await api.submit(source={"path": write_script("p.py", "print('hi')\n")})
    prefix = job["id"][:4]
    assert (await api.job(prefix))["id"] == job["id"]
    await api.wait(prefix)
    for route in ("logs", "outputs", "progress"):
        code, _ = await api.call("GET", "jobs", prefix, route)
        assert code == 200, route
    code, _ = await api.call("GET", "jobs", job["id"][:3])
    assert code == 404  # too short to name a job
    code, _ = await api.call("DELETE", "jobs", prefix)
    assert code == 204
    code, _ = await api.call("GET", "jobs", job["id"])
    assert code == 404


# ----- the command line and the magics, against a server of their own -----


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    base = tmp_path_factory.mktemp("params-server")
    work = base / "root" / "work"
    work.mkdir(parents=True)
    notebook(work / "train.ipynb")
    (work / "ok.py").write_text("print('ok')\n")
    (work / "sleeper.py").write_text("import time\nprint('up', flush=True)\ntime.sleep(60)\n")
    server = JupyterServer(base / "root", base / "mlp.db", isolated_env(base), base / "server.log")
    yield server
    server.stop()


def mlp(server: JupyterServer, *args: str) -> subprocess.CompletedProcess[str]:
    """`jupyter mlp ...` run from a folder under the server's root dir."""
    return subprocess.run(
        [sys.executable, "-m", "jupyter_mlp.client.cli", *args],
        cwd=server.root / "work",
        env=server.env,
        capture_output=True,
        text=True,
        timeout=90,
    )


def submitted_id(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.split()[0]


def submit(server: JupyterServer, **spec: Any) -> str:
    """A job submitted through the REST API (what the command under test works on)."""
    return server.call("POST", "mlp/jobs", spec)["id"]  # type: ignore[no-any-return]


def test_cli_param_that_cannot_be_the_declared_type_is_refused_naming_it(server):
    result = mlp(server, "submit", "train.ipynb", "--mode", "script", "--param", "epochs=abc")
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "parameters.epochs" in line and NOT_AN_INT in line


def test_cli_submit_prints_the_warnings(server):
    result = mlp(server, "submit", "train.ipynb", "--mode", "script", "--param", "extra=1")
    assert result.returncode == 0, result.stderr
    assert f"warning: parameters.extra: {UNDECLARED}" in result.stderr


def test_cli_rerun_with_a_changed_parameter_is_a_rerun_of_that_job(server):
    source = {"path": "work/train.ipynb", "mode": "script"}
    first = submit(server, source=source, name="base", parameters={"lr": 0.5})
    result = mlp(server, "rerun", first[:5], "--param", "epochs=3", "--name", "more", "--json")
    assert result.returncode == 0, result.stderr
    again = server.call("GET", f"mlp/jobs/{json.loads(result.stdout)['id']}")
    assert again["name"] == "more"
    assert again["spec"]["parameters"] == {"lr": 0.5, "epochs": 3}
    assert again["rerun_of"] == {"id": first, "name": "base"}
    same = submitted_id(mlp(server, "rerun", first))
    assert server.call("GET", f"mlp/jobs/{same}")["rerun_of"] == {"id": first, "name": "base"}
    refused = mlp(server, "rerun", first, "--param", "epochs=abc")
    assert refused.returncode == 2 and NOT_AN_INT in refused.stderr


def test_cli_delete_removes_ended_jobs_and_shows_why_not_an_active_one(server):
    ended = submit(server, source={"path": "work/ok.py"})
    server.wait(ended)
    running = submit(server, source={"path": "work/sleeper.py"})
    refused = mlp(server, "delete", running)
    assert refused.returncode == 2
    assert f"job '{running}' is" in refused.stderr and "cancel it before deleting" in refused.stderr
    server.call("POST", f"mlp/jobs/{running}/cancel", {})
    server.wait(running)
    result = mlp(server, "delete", ended[:6], running)
    assert result.returncode == 0, result.stderr
    assert [line.split()[:2] for line in result.stdout.splitlines()] == [
        ["deleted", ended],
        ["deleted", running],
    ]
    listed = {job["id"] for job in server.jobs()}
    assert ended not in listed and running not in listed


def test_cli_takes_a_unique_prefix_and_names_the_jobs_of_an_ambiguous_one(server):
    job_id = submit(server, source={"path": "work/ok.py"}, name="twin")
    server.wait(job_id)
    store = JobStore(f"sqlite:///{server.root.parent / 'mlp.db'}")
    try:
        stored = store.get(job_id)
        assert stored is not None
        for twin in ("feed0001aaaa", "feed0002bbbb"):
            store.add(stored.model_copy(update={"id": twin, "transitions": []}))
    finally:
        store.close()
    assert "feed0001aaaa" in mlp(server, "status", "feed0001").stdout
    result = mlp(server, "status", "feed")
    assert result.returncode == 2
    assert "feed0001aaaa (twin), feed0002bbbb (twin)" in result.stderr


def test_cli_output_into_a_closed_pipe_ends_without_a_traceback(server):
    job_id = submit(server, source={"path": "work/ok.py"})
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter_mlp.client.cli", "status", job_id],
        cwd=server.root / "work",
        env=server.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader went away, as `| head` does after its lines
    errors = process.stderr.read().decode()
    assert process.wait(timeout=90) == 141
    assert errors == ""


# ----- the magics, in a kernel of a notebook the server serves -----


def execute(kernel: Kernel, code: str, cell_id: str) -> tuple[str, str]:
    """Run a cell as JupyterLab does (its id in the request's metadata): ("ok" or the error
    as "Name: value", what it printed to stderr)."""
    client = kernel.client
    content = {"code": code, "silent": False, "store_history": True, "allow_stdin": False}
    message = client.session.msg("execute_request", content, metadata={"cellId": cell_id})
    client.shell_channel.send(message)
    msg_id = message["header"]["msg_id"]
    stderr = ""
    while True:
        got = client.get_iopub_msg(timeout=90)
        if got["parent_header"].get("msg_id") != msg_id:
            continue
        if got["msg_type"] == "stream" and got["content"]["name"] == "stderr":
            stderr += got["content"]["text"]
        elif got["msg_type"] == "status" and got["content"]["execution_state"] == "idle":
            break
    reply = client.get_shell_msg(timeout=90)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = client.get_shell_msg(timeout=90)
    answer = reply["content"]
    return ("ok" if answer["status"] == "ok" else f"{answer['ename']}: {answer['evalue']}"), stderr


@pytest.fixture(scope="module")
def kernel(server: JupyterServer) -> Iterator[Kernel]:
    kernel_id = server.start_session("work/train.ipynb")
    runtime = Path(server.env["JUPYTER_RUNTIME_DIR"])
    kernel = Kernel.from_connection_file(runtime / f"kernel-{kernel_id}.json")
    assert kernel.run("%load_ext jupyter_mlp").status == "ok"
    yield kernel
    kernel.client.stop_channels()


def test_magic_refuses_a_value_the_included_parameters_cell_does_not_declare(kernel):
    status, _ = execute(kernel, "%%mlp_train --param epochs=abc\nprint(epochs)", "cell-1")
    assert status.startswith("UsageError") and "parameters.epochs" in status
    assert NOT_AN_INT in status


def test_magic_job_knows_its_notebook_and_cell_and_shows_the_warnings(server, kernel):
    code = "%%mlp_train --name from-cell --param extra=1\nprint(epochs)"
    status, stderr = execute(kernel, code, "cell-7f3a")
    assert status == "ok"
    assert f"warning: parameters.extra: {UNDECLARED}" in stderr
    [summary] = [j for j in server.jobs() if j["name"] == "from-cell"]
    job = server.call("GET", f"mlp/jobs/{summary['id']}")
    assert job["spec"]["source"]["origin"] == {
        "notebook": "work/train.ipynb",
        "cell_id": "cell-7f3a",
        "cell_index": None,
    }
