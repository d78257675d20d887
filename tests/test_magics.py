"""The `%mlp_train` family inside real kernels: one started through a real Jupyter server (jobs
go through that server), one started on its own (jobs go straight into the job database)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import listed
from jupyter_client.manager import KernelManager
from jupyter_processes import JupyterServer, Kernel, isolated_env, write_notebook

from jupyter_mlp.client.magics import MLPMagics, cell_job_code
from jupyter_mlp.client.submit_options import parse_gpu, parse_value
from jupyter_mlp.core.models import JobSpec, JobState
from jupyter_mlp.core.store import JobStore
from jupyter_mlp.jobfiles.bundle import plan_source

NOTEBOOK = "work/experiment.ipynb"
REPO = Path(__file__).resolve().parent.parent
COPIED = json.loads((REPO / "src" / "__tests__" / "fixtures" / "commands.json").read_text())
GARBLED_LINES = 400
# Lines after bytes that are not UTF-8, in two halves with a pause between, so that a
# follower reads the first half while the job runs and reads on from there.
GARBLED = f"""\
import sys, time
for i in range({GARBLED_LINES}):
    if i == {GARBLED_LINES // 2}:
        sys.stdout.buffer.flush()
        time.sleep(3)
    sys.stdout.buffer.write(b"\\xff\\xfe line %05d\\n" % i)
"""
HELPERS = "import json\n\ndef double(x):\n    return 2 * x\n"
DEFAULTS = "lr = 0.5\nlayers = [1]\nname = 'default'\n"


def job_named(server: JupyterServer, name: str) -> dict[str, Any]:
    """The whole job (the list shows summaries) of the one job with this name."""
    [summary] = [j for j in server.jobs() if j["name"] == name]
    return server.call("GET", f"mlp/jobs/{summary['id']}")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    base = tmp_path_factory.mktemp("magics-server")
    root = base / "root"
    (root / "work").mkdir(parents=True)
    write_notebook(
        root / NOTEBOOK,
        [
            (HELPERS, ["mlp-include"]),
            ("SECRET = 'not shipped'", []),
            (DEFAULTS, ["parameters", "mlp-include"]),
            ("%%mlp_train --wait\nprint(double(lr))", ["mlp-include"]),
        ],
    )
    server = JupyterServer(root, base / "mlp.db", isolated_env(base), base / "server.log")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def kernel(server: JupyterServer) -> Iterator[Kernel]:
    """A kernel of the notebook NOTEBOOK, started through the server as JupyterLab does."""
    kernel_id = server.start_session(NOTEBOOK)
    runtime = Path(server.env["JUPYTER_RUNTIME_DIR"])
    kernel = Kernel.from_connection_file(runtime / f"kernel-{kernel_id}.json")
    assert kernel.run("%load_ext jupyter_mlp").status == "ok"
    yield kernel
    kernel.client.stop_channels()


@pytest.fixture(scope="module")
def direct(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Kernel, Path]]:
    """A kernel started on its own (no server knows it), in its own Jupyter dirs."""
    base = tmp_path_factory.mktemp("magics-direct")
    cwd = base / "project"
    cwd.mkdir()
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(env=isolated_env(base), cwd=str(cwd))
    client = manager.blocking_client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    kernel = Kernel(client)
    assert kernel.run("%load_ext jupyter_mlp").status == "ok"
    yield kernel, base
    client.stop_channels()
    manager.shutdown_kernel(now=True)


# ----- options -----


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3", 3),
        ("0.1", 0.1),
        ("true", True),
        ("True", True),
        ("[1,2]", [1, 2]),
        ("{'a': 1}", {"a": 1}),
        ("null", None),
        ("'quoted'", "quoted"),
        ("adam", "adam"),
        ("gs://bucket/data", "gs://bucket/data"),
        ("{1, 2}", "{1, 2}"),
    ],
)
def test_param_values_are_typed_like_papermill(text, value):
    assert parse_value(text) == value
    assert type(parse_value(text)) is type(value)


def test_gpu_takes_short_names_and_bare_counts():
    assert parse_gpu("T4:1") == ("NVIDIA_TESLA_T4", 1)
    assert parse_gpu("H100:8") == ("NVIDIA_H100_80GB", 8)
    assert parse_gpu("2") == (None, 2)
    assert parse_gpu("any:1") == (None, 1)


def ran(code: str, parameters: dict[str, Any]) -> str:
    """The program a cell job with these parameters runs, as its bundle holds it."""
    spec = JobSpec.model_validate({"source": {"code": code}, "parameters": parameters})
    return plan_source(spec, Path.cwd()).text or ""


def test_parameters_go_after_an_included_parameters_cell_else_first():
    import nbformat

    helper = nbformat.v4.new_code_cell("import math")
    defaults = nbformat.v4.new_code_cell("lr = 0.5")
    defaults.metadata["tags"] = ["parameters", "mlp-include"]
    code = ran(cell_job_code("print(lr)", [helper, defaults], {"lr": 0.1}), {"lr": 0.1})
    assert code.index("import math") < code.index("lr = 0.5") < code.index("lr = 0.1")
    assert code.rstrip().endswith("print(lr)")
    first = ran(cell_job_code("print(lr)", [helper], {"lr": 0.1}), {"lr": 0.1})
    assert first.index("lr = 0.1") < first.index("import math")


async def test_a_cell_job_run_again_with_other_parameters_runs_with_those(api):
    import nbformat

    defaults = nbformat.v4.new_code_cell("lr = 0.5")
    defaults.metadata["tags"] = ["parameters", "mlp-include"]
    code = cell_job_code("print('lr is', lr)", [defaults], {"lr": 0.1})
    first = await api.submit(source={"code": code}, parameters={"lr": 0.1})
    # "Rerun…" in the panel sends the same code with the values changed in the form.
    again = await api.submit(source={"code": code}, parameters={"lr": 0.2})

    for job, value in ((first, "0.1"), (again, "0.2")):
        assert (await api.wait(job["id"]))["state"] == "SUCCEEDED"
        assert f"lr is {value}" in await api.log(job["id"])


def test_the_magic_help_explains_options_and_what_a_cell_job_sees():
    help_text = MLPMagics.mlp_train.__doc__ or ""
    for words in ("--gpu", "T4:1", "--param", "--wait", "--include-cells-from", "mlp-include"):
        assert words in help_text
    assert "saved cells" in " ".join(help_text.split())
    assert "--gpu" in (MLPMagics.mlp_etl.__doc__ or "")


# ----- with a Jupyter server -----


def test_a_cell_job_goes_through_the_kernels_server(server, kernel):
    outcome = kernel.run("%%mlp_train --name from-cell --wait\nprint('ran in a job')")
    assert outcome.status == "ok", outcome.error
    assert "ran in a job" in outcome.stdout
    job = job_named(server, "from-cell")
    assert job["state"] == "SUCCEEDED"
    assert job["kind"] == "train"


def test_wait_shows_the_job_status_line_once(server, kernel):
    outcome = kernel.run("%%mlp_train --name shown-once --wait\nprint('waited for')")
    assert outcome.status == "ok", outcome.error
    shown = [
        d
        for d in outcome.displays
        if d["type"] in ("display_data", "execute_result")
        and "shown-once" in d["data"].get("text/plain", "")
    ]
    assert len(shown) == 1, outcome.displays
    # The one line is kept up to date: it ends as the job ended.
    updates = [d for d in outcome.displays if d["type"] == "update_display_data"]
    assert "SUCCEEDED" in updates[-1]["data"]["text/plain"]


def test_a_cell_job_sees_included_cells_and_typed_parameters_but_not_the_kernel(server, kernel):
    kernel.run("SECRET = 'in the kernel only'")
    cell = (
        "%%mlp_train --name sees --wait --param lr=0.1 --param layers=[1,2] --param flag=true "
        "--param name=resnet\n"
        "print(json.dumps({'double': double(lr), 'layers': layers, 'flag': flag, 'name': name, "
        "'secret': 'SECRET' in globals()}))"
    )
    outcome = kernel.run(cell)
    assert outcome.status == "ok", outcome.error
    assert "2 saved cell(s) tagged mlp-include" in outcome.stdout
    seen = json.loads(next(line for line in outcome.stdout.splitlines() if "double" in line))
    assert seen == {
        "double": 0.2,
        "layers": [1, 2],
        "flag": True,
        "name": "resnet",
        "secret": False,
    }
    job = job_named(server, "sees")
    assert job["spec"]["parameters"] == {
        "lr": 0.1,
        "layers": [1, 2],
        "flag": True,
        "name": "resnet",
    }


def test_wait_streams_the_log_and_raises_when_the_job_fails(kernel):
    outcome = kernel.run(
        "%%mlp_train --wait\nprint('about to fail', flush=True)\nraise SystemExit(3)"
    )
    assert outcome.status == "error"
    assert outcome.error is not None and outcome.error[0] == "JobFailed"
    assert "FAILED" in outcome.error[1] and "exit code 3" in outcome.error[1]
    assert "about to fail" in outcome.stdout
    assert outcome.traceback == [f"JobFailed: {outcome.error[1]}"]


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ("--gpu X100:3", ["gpu: unknown accelerator 'X100'", "T4", "H100"]),
        ("--gpu T4:lots", ["gpu", "'lots' is not a whole number"]),
        ("--replicas 2", ["resources.replica_count", "runs one replica"]),
        ("--param 1x=2", ["param: '1x' is not a Python name"]),
        ("--nope", ["unrecognized arguments: --nope"]),
    ],
)
def test_option_errors_are_one_clear_line(kernel, options, words):
    outcome = kernel.run(f"%%mlp_train {options}\npass")
    assert outcome.status == "error"
    assert outcome.error is not None and outcome.error[0] == "UsageError"
    for word in words:
        assert word in outcome.error[1]


def test_a_file_job_returns_a_live_job_object(server, kernel):
    (server.root / "work" / "train.py").write_text("import sys\nprint('args', sys.argv[1:])\n")
    outcome = kernel.run("%mlp_train train.py --args '--data d.csv' --param epochs=2")
    assert outcome.status == "ok", outcome.error
    # A quick job may update its display before the cell's reply: that update is here too.
    [shown] = [d for d in outcome.displays if d["type"] != "update_display_data"]
    assert 'data-commandlinker-command="mlp:open-panel"' in shown["data"]["text/html"]
    ended = [d for d in outcome.displays if "SUCCEEDED" in d["data"].get("text/plain", "")]
    if not ended:
        kernel.wait_for_update(shown["transient"]["display_id"], "SUCCEEDED", timeout=20)
    outcome = kernel.run("job = _\njob.wait(); print(job.state.value, job.id); print(job.logs())")
    assert outcome.status == "ok", outcome.error
    state, job_id = outcome.stdout.splitlines()[0].split()
    assert state == "SUCCEEDED"
    assert "args ['--data', 'd.csv', '--epochs=2']" in outcome.stdout
    assert server.call("GET", f"mlp/jobs/{job_id}")["spec"]["source"]["path"] == "work/train.py"


def test_jobs_logs_and_cancel_magics(server, kernel):
    started = kernel.run(
        "%%mlp_train --name sleeper\nimport time\nprint('up', flush=True)\ntime.sleep(60)\n"
    )
    assert started.status == "ok", started.error
    job_id = next(j["id"] for j in server.jobs() if j["name"] == "sleeper")
    assert server.wait(job_id, {"RUNNING"})["state"] == "RUNNING"
    while "up" not in server.call("GET", f"mlp/jobs/{job_id}/logs")["data"]:
        time.sleep(0.05)
    listing = kernel.run("%mlp_jobs --state running")
    assert "sleeper" in listing.texts()[0] and "RUNNING" in listing.texts()[0]
    table = listing.texts("text/html")[0]
    # In a notebook the job's id opens it in the panel (JupyterLab's command linker).
    assert 'data-commandlinker-command="mlp:open-panel"' in table
    assert f"&quot;id&quot;: &quot;{job_id}&quot;" in table and "sleeper" in table
    cancelled = kernel.run(f"%mlp_cancel {job_id}")
    assert cancelled.status == "ok", cancelled.error
    assert "CANCELLING" in cancelled.texts()[0] or "CANCELLED" in cancelled.texts()[0]
    assert server.wait(job_id)["state"] == "CANCELLED"
    logs = kernel.run(f"%mlp_logs {job_id} --follow")
    assert logs.stdout.startswith("up")
    missing = kernel.run("%mlp_logs nosuchjob")
    assert missing.error == ("UsageError", "no job with id 'nosuchjob'")


def garbled_lines(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\ufffd\ufffd line (\d{5})\n", text)]


def test_wait_prints_every_line_of_a_log_with_bytes_that_are_not_utf8(kernel):
    waited = kernel.run(f"%%mlp_train --name garbled-wait --wait\n{GARBLED}")
    assert waited.status == "ok", waited.error
    assert garbled_lines(waited.stdout) == list(range(GARBLED_LINES))


def test_logs_follow_prints_every_line_of_a_log_with_bytes_that_are_not_utf8(server, kernel):
    assert kernel.run(f"%%mlp_train --name garbled-follow\n{GARBLED}").status == "ok"
    job_id = job_named(server, "garbled-follow")["id"]
    followed = kernel.run(f"%mlp_logs {job_id} --follow")
    assert server.call("GET", f"mlp/jobs/{job_id}")["state"] == "SUCCEEDED"
    assert garbled_lines(followed.stdout) == list(range(GARBLED_LINES))


def test_a_cell_copied_from_the_panel_submits_the_spec_it_was_copied_from(server, kernel):
    [copied] = [c for c in COPIED["commands"] if c["title"].startswith("cell code")]
    spec = copied["spec"]
    # Names the copied line mentions as {x} and $x: IPython must not put these in.
    assert kernel.run("x = 'EXPANDED'; HOME = 'EXPANDED'").status == "ok"
    outcome = kernel.run(copied["magic"])
    assert outcome.status == "ok", outcome.error
    job = server.wait(job_named(server, spec["name"])["id"])
    assert job["state"] == "SUCCEEDED", job["state_message"]
    shown = {k: job["spec"][k] for k in ("name", "backend", "args", "parameters", "labels")}
    assert shown == {k: spec[k] for k in shown}
    assert job["spec"]["source"]["code"].endswith(spec["source"]["code"])
    assert "0.01 costs $1" in server.call("GET", f"mlp/jobs/{job['id']}/logs")["data"]


# ----- without a server -----


def test_without_a_server_jobs_land_in_the_database_a_server_would_use(direct):
    kernel, base = direct
    project = base / "project"
    write_notebook(project / "nb.ipynb", [("GREETING = 'hello'", ["mlp-include"])])
    outcome = kernel.run(
        "%%mlp_train --name direct --include-cells-from nb.ipynb --wait\nprint(GREETING, 'direct')"
    )
    assert outcome.status == "ok", outcome.error
    assert "hello direct" in outcome.stdout
    background = kernel.run("%%mlp_train --name unwatched\nprint('queued then run')")
    assert background.status == "ok", background.error
    kernel.run("job = _")
    # Nobody else watches this database: the kernel's own manager starts and finishes the job.
    finished = kernel.run("print(job.wait().state.value)")
    assert finished.stdout.strip() == "SUCCEEDED"

    store = JobStore(f"sqlite:///{base / 'data' / 'mlp' / 'jobs.db'}")
    try:
        jobs = {job["name"]: job for job in listed(store, limit=10)}
    finally:
        store.close()
    assert jobs["direct"]["state"] == JobState.SUCCEEDED.value
    assert jobs["unwatched"]["state"] == JobState.SUCCEEDED.value
    assert (project / jobs["direct"]["outputs"]["log"]).read_text().startswith("hello direct")


def test_a_kernels_manager_keeps_watching_between_cells(direct):
    kernel, base = direct
    assert kernel.run("%%mlp_train --name slow\nimport time\ntime.sleep(0.5)").status == "ok"
    # No cell runs from here on: the kernel's background manager finishes the job on its own.
    store = JobStore(f"sqlite:///{base / 'data' / 'mlp' / 'jobs.db'}")
    try:
        deadline = time.monotonic() + 30
        while True:
            [job] = listed(store, name_prefix="slow", limit=1)
            if JobState(job["state"]).terminal or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    finally:
        store.close()
    assert job["state"] == JobState.SUCCEEDED.value
