"""Schedules from a shell and a notebook: `jupyter mlp schedule ...` and `%mlp_train --schedule`.

The flags are read by the real parsers into the body POST /mlp/schedules takes, checked with
the server's own request model; one test drives the CLI against a real Jupyter server."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from jupyter_processes import JupyterServer, isolated_env

from jupyter_mlp.client.cli import build_parser
from jupyter_mlp.client.connection import Client, describe_error
from jupyter_mlp.client.magics import MLPMagics, parse_line
from jupyter_mlp.client.schedules import (
    created_text,
    schedule_body,
    schedule_text,
    schedules_table,
)
from jupyter_mlp.core.models import FieldError, Job, JobSummary, MLPError
from jupyter_mlp.core.schedule_models import Schedule, ScheduleRequest
from jupyter_mlp.server.handlers import ROUTES

SCHEDULES_SERVED = any(pattern.startswith("mlp/schedules") for pattern, _ in ROUTES)
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Client:
    """A client whose server's root dir is tmp_path, run from its folder `work`."""
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "train.py").write_text("print('trained')\n")
    monkeypatch.chdir(tmp_path / "work")
    client = Client()
    client.root_dir = tmp_path
    return client


def cli_request(client: Client, *argv: str) -> dict[str, Any]:
    options = build_parser().parse_args(["schedule", "create", *argv])
    return schedule_body(options.cron, options, options.spec_of(client, options))


def stored(**fields: Any) -> Schedule:
    base: dict[str, Any] = {
        "id": "s-1",
        "name": "nightly",
        "cron": "0 3 * * *",
        "timezone": "Europe/Berlin",
        "spec": {"kind": "train", "source": {"path": "work/train.py"}},
        "overlap": "skip",
        "runs_in": "server",
        "created_at": NOW,
        "updated_at": NOW,
        "next_fire_at": datetime(2026, 12, 7, 2, 0, tzinfo=UTC),
    }
    return Schedule.model_validate(base | fields)


# ----- the CLI's request -----


def test_create_sends_the_when_flags_and_the_job_spec_of_the_submit_flags(work):
    body = cli_request(
        work,
        "train.py",
        "--cron",
        "@daily",
        "--timezone",
        "Europe/Berlin",
        "--runs-in",
        "cloud",
        "--overlap",
        "allow",
        "--start",
        "2026-12-07T00:00:00Z",
        "--end",
        "2027-01-01T00:00:00Z",
        "--name",
        "nightly",
        "--backend",
        "vertex",
        "--gpu",
        "T4:1",
        "--param",
        "lr=0.1",
        "--spot",
    )
    request = ScheduleRequest.model_validate(body)
    assert request.name == "nightly"
    assert request.cron == "0 0 * * *"
    assert (request.timezone, request.runs_in, request.overlap) == (
        "Europe/Berlin",
        "cloud",
        "allow",
    )
    assert request.end_at == datetime(2027, 1, 1, tzinfo=UTC)
    spec = request.spec
    assert spec.source.path == "work/train.py"
    assert (spec.backend, spec.name, spec.parameters) == ("vertex", "nightly", {"lr": 0.1})
    assert spec.resources.accelerator_count == 1
    assert spec.scheduling.strategy == "spot"


def test_create_leaves_unsaid_fields_to_the_server(work):
    body = cli_request(work, "train.py", "--cron", "0 3 * * 1-5", "--kind", "etl")
    assert body == {
        "cron": "0 3 * * 1-5",
        "spec": {"kind": "etl", "source": {"path": "work/train.py"}},
    }


def test_create_refuses_wait_naming_it(work):
    with pytest.raises(MLPError) as refused:
        cli_request(work, "train.py", "--cron", "@hourly", "--wait")
    assert refused.value.errors[0].field == "wait"


def test_create_needs_a_cron(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["schedule", "create", "train.py"])
    assert "--cron" in capsys.readouterr().err


@pytest.mark.parametrize("verb", ["show", "pause", "resume", "run", "delete"])
def test_each_schedule_verb_takes_the_schedules_id(verb):
    options = build_parser().parse_args(["schedule", verb, "s-42", "--json"])
    assert (options.schedule_id, options.json) == ("s-42", True)


def test_without_a_server_schedules_say_one_is_needed():
    with pytest.raises(MLPError) as refused:
        Client().list_schedules()
    assert "running Jupyter server" in refused.value.message


def test_errors_print_each_fields_message():
    error = MLPError(
        400,
        "2 problems",
        [
            FieldError(field="cron", message="'61 * * * *' is not a cron expression"),
            FieldError(field="timezone", message="'Mars/Base' is not an IANA time zone name"),
        ],
    )
    text = describe_error(error)
    assert "cron: '61 * * * *' is not a cron expression" in text
    assert "timezone: 'Mars/Base' is not an IANA time zone name" in text


# ----- the magic's request -----


def magic_request(client: Client, line: str, cell: str | None = None) -> dict[str, Any]:
    magics = MLPMagics(client=client)
    options = parse_line(magics.mlp_train, line)
    return schedule_body(options.schedule, options, magics.job_body("train", options, cell))


def test_the_magic_with_schedule_sends_a_schedule_of_the_file(work):
    body = magic_request(
        work, "train.py --schedule '0 3 * * *' --timezone Europe/Berlin --param epochs=3"
    )
    request = ScheduleRequest.model_validate(body)
    assert (request.cron, request.timezone) == ("0 3 * * *", "Europe/Berlin")
    assert request.spec.source.path == "work/train.py"
    assert request.spec.parameters == {"epochs": 3}


def test_the_cell_magic_with_schedule_sends_the_cells_code(work):
    body = magic_request(work, "--schedule @hourly --overlap queue", cell="print('hourly')\n")
    request = ScheduleRequest.model_validate(body)
    assert (request.cron, request.overlap) == ("0 * * * *", "queue")
    assert "print('hourly')" in (request.spec.source.code or "")


def test_the_magic_refuses_when_flags_without_schedule(work):
    with pytest.raises(UsageError, match="--timezone say when a schedule runs: add --schedule"):
        MLPMagics(client=work).mlp_train("train.py --timezone UTC")


# ----- what they print -----


def test_created_text_gives_the_id_next_run_and_where_to_see_it():
    text = created_text(stored())
    assert "scheduled nightly (s-1): 0 3 * * * Europe/Berlin" in text
    # 02:00 UTC is 03:00 in Berlin: the next run is said in the schedule's own zone.
    assert "next run: Mon 07 Dec 03:00" in text
    assert "jupyter mlp schedule show s-1" in text


def test_the_list_shows_when_next_run_and_the_last_runs_states():
    runs = [
        JobSummary.model_validate(
            {"id": f"j{n}", "name": "nightly", "kind": "train", "backend": "local"}
            | {"state": state, "created_at": NOW, "schedule_id": "s-1"}
        )
        for n, state in enumerate(["FAILED", "SUCCEEDED"])
    ]
    paused = stored(id="s-2", name="weekly", paused=True)
    lines = schedules_table([stored(), paused], {"s-1": runs}).splitlines()
    assert lines[0].split() == ["ID", "NAME", "WHEN", "NEXT", "RUN", "LAST", "RUNS"]
    assert lines[1].startswith("s-1") and lines[1].endswith("FAILED SUCCEEDED")
    assert "Europe/Berlin" in lines[1]
    assert "paused" in lines[2] and lines[2].endswith("-")


def test_show_lists_the_runs_with_their_parameters_side_by_side():
    runs = [
        Job.model_validate(
            {"id": f"j{n}", "name": "nightly", "kind": "train", "backend": "local"}
            | {"state": "SUCCEEDED", "created_at": NOW, "schedule_id": "s-1"}
            | {"spec": {"kind": "train", "source": {"path": "t.py"}, "parameters": {"lr": lr}}}
        )
        for n, lr in enumerate([0.1, 0.2])
    ]
    text = schedule_text(stored(), runs)
    assert "lr=0.1" in text and "lr=0.2" in text
    assert schedule_text(stored(), []).endswith("no runs yet")


# ----- against a Jupyter server -----


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    base = tmp_path_factory.mktemp("schedule-cli")
    (base / "root" / "work").mkdir(parents=True)
    (base / "root" / "work" / "ok.py").write_text("print('ok')\n")
    server = JupyterServer(base / "root", base / "mlp.db", isolated_env(base), base / "server.log")
    yield server
    server.stop()


def mlp(server: JupyterServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_mlp.client.cli", "schedule", *args],
        cwd=server.root / "work",
        env=server.env,
        capture_output=True,
        text=True,
        timeout=90,
    )


@pytest.mark.skipif(
    not SCHEDULES_SERVED, reason="POST /mlp/schedules is not served yet (built by sched-core)"
)
def test_a_schedule_made_paused_run_now_and_deleted_from_the_shell(server):
    made = mlp(server, "create", "ok.py", "--cron", "0 3 * * *", "--timezone", "UTC", "--json")
    assert made.returncode == 0, made.stderr
    schedule_id = json.loads(made.stdout)["id"]
    listed = mlp(server, "list")
    assert schedule_id in listed.stdout and "0 3 * * * UTC" in listed.stdout
    paused = mlp(server, "pause", schedule_id)
    assert paused.returncode == 0 and "paused" in paused.stdout
    run = mlp(server, "run", schedule_id, "--json")
    assert run.returncode == 0, run.stderr
    job_id = json.loads(run.stdout)["job"]["id"]
    server.wait(job_id)
    shown = mlp(server, "show", schedule_id)
    assert job_id in shown.stdout and "SUCCEEDED" in shown.stdout
    assert mlp(server, "delete", schedule_id).returncode == 0
    assert schedule_id not in mlp(server, "list").stdout
    bad = mlp(server, "create", "ok.py", "--cron", "61 * * * *")
    assert bad.returncode == 2 and "cron" in bad.stderr
