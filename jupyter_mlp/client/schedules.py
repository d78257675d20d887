"""Schedules from a shell and from a notebook: `jupyter mlp schedule create|list|show|pause|
resume|run|delete` and `%mlp_train --schedule CRON`.

A schedule is a job spec (the submit flags, read as `jupyter mlp submit` reads them) plus when
it runs; the Jupyter server keeps and fires it (or Cloud Scheduler, for `--runs-in cloud`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..core.models import Job, JobKind, JobSummary, MLPError
from ..core.schedule_models import Schedule
from .connection import Client
from .submit_options import add_submit_options

#: What `--runs-in` takes, and what each means.
RUNS_IN_HELP = (
    "server (default): this Jupyter server fires it, and catches up after a restart; cloud: "
    "Cloud Scheduler fires it at Vertex AI, with JupyterLab and the server closed."
)
RECENT_RUNS = 5
SHOWN_RUNS = 10
#: The spec builder of `jupyter mlp submit` (FILE and flags -> POST /mlp/jobs body).
SpecOf = Callable[[Client, argparse.Namespace], dict[str, Any]]


@dataclass(frozen=True)
class WhenOption:
    """One flag saying when a schedule runs, shared by the CLI and the magics."""

    flag: str
    field: str
    help: str
    choices: tuple[str, ...] = ()

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")

    def argparse_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"dest": self.dest, "help": self.help}
        if self.choices:
            kwargs["choices"] = list(self.choices)
        return kwargs


WHEN_OPTIONS = [
    WhenOption(
        "--timezone",
        "timezone",
        "The IANA time zone the cron reads in, e.g. Europe/Berlin (default: the server's).",
    ),
    WhenOption("--runs-in", "runs_in", RUNS_IN_HELP, ("server", "cloud")),
    WhenOption(
        "--overlap",
        "overlap",
        "When a fire comes while the last run still runs: skip it (default), queue it, or "
        "allow both (cloud schedules: allow only).",
        ("skip", "queue", "allow"),
    ),
    WhenOption("--start", "start_at", "No run before this time (ISO, e.g. 2026-12-07T03:00Z)."),
    WhenOption("--end", "end_at", "No run after this time (ISO, with an offset or Z)."),
]
CRON_HELP = (
    "When it runs: five cron fields (minute hour day-of-month month day-of-week, e.g. "
    "'0 3 * * *' for 03:00 every day) or @hourly, @daily, @weekly."
)


def schedule_body(cron: str, options: argparse.Namespace, spec: dict[str, Any]) -> dict[str, Any]:
    """The body of POST /mlp/schedules: `spec` (a POST /mlp/jobs body) run at `cron`, with
    the when-flags given; the schedule takes the job's name."""
    if getattr(options, "wait", False):
        raise MLPError.invalid("wait", "a schedule runs later: --wait is for jobs run now")
    body: dict[str, Any] = {"cron": cron, "spec": spec}
    if spec.get("name"):
        body["name"] = spec["name"]
    for option in WHEN_OPTIONS:
        given = getattr(options, option.dest, None)
        if given is not None:
            body[option.field] = given
    return body


def check_no_when(options: argparse.Namespace) -> None:
    """Refuse when-flags given to a job run now (`%mlp_train --timezone ...` without
    `--schedule`): they would be silently ignored."""
    given = [o.flag for o in WHEN_OPTIONS if getattr(options, o.dest, None) is not None]
    if given:
        raise MLPError.invalid(
            given[0].lstrip("-"),
            f"{', '.join(given)} say when a schedule runs: add --schedule CRON "
            "(e.g. --schedule '0 3 * * *')",
        )


def add_schedule_commands(
    verbs: Any, parents: Sequence[argparse.ArgumentParser], spec_of: SpecOf
) -> None:
    """`jupyter mlp schedule VERB`: the verbs and their flags; `spec_of` builds the job spec
    of `create` from FILE and the submit flags."""
    schedule = verbs.add_parser("schedule", help="Run a job on a schedule (cron).")
    actions = schedule.add_subparsers(dest="schedule_verb", required=True, metavar="ACTION")
    create = actions.add_parser(
        "create", parents=parents, help="Schedule a .py or .ipynb file to run at cron times."
    )
    create.add_argument("file", help="The .py or .ipynb file (under the server's root dir).")
    create.add_argument("--cron", required=True, help=CRON_HELP)
    for option in WHEN_OPTIONS:
        create.add_argument(option.flag, **option.argparse_kwargs())
    kinds = [k.value for k in JobKind]
    create.add_argument("--kind", choices=kinds, default=JobKind.TRAIN.value, help="Job kind.")
    create.add_argument(
        "--root-dir", metavar="DIR", help="The server's root dir as this machine sees it."
    )
    add_submit_options(create)
    create.set_defaults(run=_create, spec_of=spec_of)

    listing = actions.add_parser("list", parents=parents, help="Every schedule.")
    listing.set_defaults(run=_list)
    for verb, about, run in (
        ("show", "One schedule with its latest runs.", _show),
        ("pause", "Stop firing a schedule (its runs go on).", _pause),
        ("resume", "Fire a paused schedule again.", _resume),
        ("run", "Run a schedule's job now, once.", _run),
        ("delete", "Delete a schedule (its runs stay).", _delete),
    ):
        action = actions.add_parser(verb, parents=parents, help=about)
        action.add_argument("schedule_id", metavar="ID")
        action.set_defaults(run=run)


# ----- the verbs -----


def _create(client: Client, options: argparse.Namespace) -> int:
    spec = options.spec_of(client, options)
    schedule = client.create_schedule(schedule_body(options.cron, options, spec))
    _emit(options, _json(schedule), created_text(schedule))
    return 0


def _list(client: Client, options: argparse.Namespace) -> int:
    schedules = client.list_schedules()
    runs = {s.id: client.list_jobs(schedule_id=s.id, limit=RECENT_RUNS) for s in schedules}
    _emit(options, {"schedules": [_json(s) for s in schedules]}, schedules_table(schedules, runs))
    return 0


def _show(client: Client, options: argparse.Namespace) -> int:
    schedule = client.get_schedule(options.schedule_id)
    # Whole jobs, for their parameters and results side by side.
    runs = [client.get(r.id) for r in client.list_jobs(schedule_id=schedule.id, limit=SHOWN_RUNS)]
    payload = {**_json(schedule), "runs": [r.model_dump(mode="json") for r in runs]}
    _emit(options, payload, schedule_text(schedule, runs))
    return 0


def _pause(client: Client, options: argparse.Namespace) -> int:
    schedule = client.update_schedule(options.schedule_id, {"paused": True})
    _emit(options, _json(schedule), f"{schedule.id}  {schedule.name}  paused")
    return 0


def _resume(client: Client, options: argparse.Namespace) -> int:
    schedule = client.update_schedule(options.schedule_id, {"paused": False})
    _emit(options, _json(schedule), f"{schedule.id}  {schedule.name}  next run: {_next(schedule)}")
    return 0


def _run(client: Client, options: argparse.Namespace) -> int:
    job = client.run_schedule(options.schedule_id)
    if job is None:
        _emit(options, {}, f"{options.schedule_id}: Cloud Scheduler was asked to run it now")
    else:
        _emit(options, {"job": job.model_dump(mode="json")}, f"{job.id}  {job.name}  {job.state}")
    return 0


def _delete(client: Client, options: argparse.Namespace) -> int:
    client.delete_schedule(options.schedule_id)
    _emit(options, {}, f"{options.schedule_id}: deleted (its runs stay)")
    return 0


# ----- shaping the answers -----


def when_text(schedule: Schedule) -> str:
    """When a schedule runs, in one line: its cron and time zone, and where it runs."""
    where = " (in Google Cloud)" if schedule.runs_in == "cloud" else ""
    return f"{schedule.cron} {schedule.timezone}{where}"


def created_text(schedule: Schedule) -> str:
    """What creating a schedule says: its id, next run and where to see it."""
    return (
        f"scheduled {schedule.name} ({schedule.id}): {when_text(schedule)}; "
        f"next run: {_next(schedule)}\n"
        f"see it with `jupyter mlp schedule show {schedule.id}` or in the ML Jobs panel's "
        "Schedules view"
    )


def runs_strip(runs: Sequence[JobSummary]) -> str:
    """The latest runs' states, newest first, as short words (e.g. `SUCCEEDED FAILED`)."""
    return " ".join(run.state.value for run in runs) or "-"


def schedules_table(schedules: Sequence[Schedule], runs: dict[str, list[JobSummary]]) -> str:
    """Every schedule in a row: id, name, when, next run and its latest runs' states."""
    if not schedules:
        return "no schedules (create one with `jupyter mlp schedule create FILE --cron ...`)"
    rows = [
        (s.id, s.name, when_text(s), _next(s), runs_strip(runs.get(s.id, []))) for s in schedules
    ]
    return table(("ID", "NAME", "WHEN", "NEXT RUN", "LAST RUNS"), rows)


def schedule_text(schedule: Schedule, runs: Sequence[Job]) -> str:
    """One schedule in detail, and its runs with their parameters and metrics side by side."""
    fields = [
        ("id", schedule.id),
        ("name", schedule.name),
        ("when", when_text(schedule)),
        ("overlap", schedule.overlap),
        ("next run", _next(schedule)),
        ("source", schedule.spec.source.path or "(cell code)"),
        ("cloud job", schedule.cloud_job or ""),
    ]
    head = "\n".join(f"{k + ':':10} {v}" for k, v in fields if v)
    if not runs:
        return head + "\n\nno runs yet"
    rows = [
        (
            run.id,
            _moment(run.scheduled_for or run.created_at, schedule.timezone),
            run.state.value,
            " ".join(f"{k}={v}" for k, v in run.spec.parameters.items()),
            _result(run),
            f"{run.cost.usd_so_far:.2f}" if run.cost else "",
        )
        for run in runs
    ]
    headers = ("RUN", "FOR", "STATE", "PARAMETERS", "METRIC", "USD")
    return head + "\n\n" + table(headers, rows)


def _result(run: Job) -> str:
    """A sweep run's best trial metric (`name=value`); plain runs report none."""
    best = next((t for t in run.trials if t.id == run.best_trial), None)
    if run.spec.sweep is None or best is None or best.metric is None:
        return ""
    return f"{run.spec.sweep.metric.name}={best.metric:g}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell."""
    every = [headers, *rows]
    widths = [max(len(row[i]) for row in every) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in every
    )


def _next(schedule: Schedule) -> str:
    """Its next run in its own time zone, as the cron reads."""
    if schedule.paused:
        return "paused"
    if schedule.next_fire_at is None:
        return "none"
    return _moment(schedule.next_fire_at, schedule.timezone)


def _moment(moment: datetime | None, timezone: str | None = None) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(ZoneInfo(timezone) if timezone else None)
    return local.strftime("%a %d %b %H:%M")


def _json(schedule: Schedule) -> dict[str, Any]:
    return schedule.model_dump(mode="json")


def _emit(options: argparse.Namespace, payload: Any, text: str) -> None:
    print(json.dumps(payload, indent=2) if getattr(options, "json", False) else text)
    sys.stdout.flush()
