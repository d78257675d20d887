"""`jupyter mlp ...`: submit and watch jobs from a shell.

Talks to the Jupyter server whose root dir holds the working dir (or `--url`/`--token`, or
MLP_SERVER_URL/MLP_TOKEN), else runs a job manager of its own on the same job database.

Exit codes: 0 ok; 1 a job waited for (`--wait`) ended FAILED or CANCELLED; 2 a usage or
validation error; 3 the server could not be reached (or failed); 141 the reader of its output
went away (`| head`), as for a command stopped by SIGPIPE.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..core.models import Job, JobKind, JobState, MLPError
from .connection import (
    Client,
    DirectClient,
    ServerClient,
    ServerUnreachable,
    connect,
    describe_error,
)
from .handle import JobFailed, JobHandle, JobList
from .schedules import add_schedule_commands
from .submit_options import add_submit_options, installed_backend_names, parse_params, spec_body

EXIT_OK, EXIT_JOB_FAILED, EXIT_USAGE, EXIT_SERVER = 0, 1, 2, 3
EXIT_BROKEN_PIPE = 128 + 13  # what a shell reports for a command stopped by SIGPIPE
REFRESH_PRICES = "refresh-prices"


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--url",
        help="The Jupyter server's URL (default: MLP_SERVER_URL, or "
        "the running server whose root dir holds the working dir).",
    )
    common.add_argument(
        "--token",
        help="The server's token (default: MLP_TOKEN, or the one the running server recorded).",
    )
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="Answer in JSON.")

    parser = argparse.ArgumentParser(
        prog="jupyter mlp",
        description="Launch and watch ML training and ETL jobs (jupyter-mlp).",
        epilog="Exit codes: 0 ok; 1 a job waited for failed or was cancelled; "
        "2 usage or validation error; 3 server or connection error.",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="COMMAND")

    submit = verbs.add_parser(
        "submit", parents=[common, as_json], help="Run a .py or .ipynb file as a job."
    )
    submit.add_argument("file", help="The .py or .ipynb file (under the server's root dir).")
    submit.add_argument(
        "--kind", choices=[k.value for k in JobKind], default=JobKind.TRAIN.value, help="Job kind."
    )
    submit.add_argument(
        "--root-dir",
        metavar="DIR",
        help="The server's root dir as this machine sees it (default: from the running "
        "server's record; for a server known only by --url, found by asking it which of its "
        "files is FILE).",
    )
    add_submit_options(submit)
    submit.set_defaults(run=_submit)

    listing = verbs.add_parser("list", parents=[common, as_json], help="Recent jobs, newest first.")
    listing.add_argument("--state", action="append", default=[], help="Only jobs in this state.")
    listing.add_argument("--limit", type=int, default=50, help="How many jobs (default 50).")
    listing.set_defaults(run=_list)

    status = verbs.add_parser("status", parents=[common, as_json], help="One job in detail.")
    status.add_argument("job_id", metavar="ID")
    status.set_defaults(run=_status)

    logs = verbs.add_parser("logs", parents=[common], help="A job's log.")
    logs.add_argument("job_id", metavar="ID")
    logs.add_argument("-f", "--follow", action="store_true", help="Follow until the job ends.")
    logs.add_argument(
        "--debug", action="store_true", help="Keep every line (papermill's cell marks too)."
    )
    logs.set_defaults(run=_logs)

    cancel = verbs.add_parser("cancel", parents=[common, as_json], help="Ask a job to stop.")
    cancel.add_argument("job_id", metavar="ID")
    cancel.add_argument(
        "--drain",
        action="store_true",
        help="Drain a running streaming pipeline on Dataflow: it stops reading its input and "
        "finishes what it read.",
    )
    cancel.set_defaults(run=_cancel)
    add_delete_and_rerun(verbs, [common, as_json])

    catalog = verbs.add_parser(
        "catalog", parents=[common, as_json], help="Machine types and GPUs a backend offers."
    )
    catalog.add_argument(
        "--backend",
        help=f"{', '.join(installed_backend_names())} (default: the server's default).",
    )
    catalog.add_argument("--region", help="Only what this cloud region offers; its prices.")
    add_refresh_prices(catalog)
    catalog.set_defaults(run=_catalog)
    add_schedule_commands(verbs, [common, as_json], submit_body)
    return parser


def add_delete_and_rerun(
    verbs: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
) -> None:
    """`jupyter mlp delete ID...` and `jupyter mlp rerun ID [--param ...] [--name ...]`."""
    delete = verbs.add_parser(
        "delete",
        parents=parents,
        help="Forget ended jobs and remove their folders (cancel an active one first).",
    )
    delete.add_argument("job_ids", nargs="+", metavar="ID", help="A job's id or its start.")
    delete.set_defaults(run=_delete)
    rerun = verbs.add_parser(
        "rerun", parents=parents, help="Run a job again (its source as it is now)."
    )
    rerun.add_argument("job_id", metavar="ID", help="A job's id or its start.")
    rerun.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="Run it with this parameter changed (repeatable; VALUE typed as for submit).",
    )
    rerun.add_argument("--name", help="The new job's name (default: the job's).")
    rerun.set_defaults(run=_rerun)


def add_refresh_prices(catalog: argparse.ArgumentParser) -> None:
    """`jupyter mlp catalog refresh-prices`: what it takes."""
    catalog.add_argument(
        "action",
        nargs="?",
        choices=[REFRESH_PRICES],
        help="refresh-prices: read current list prices from Google's Cloud Billing Catalog API "
        "(with your Application Default Credentials) for the catalogs' default regions and "
        "--region, and keep them for estimates (the shipped prices stay the fallback).",
    )
    catalog.add_argument(
        "--billing-endpoint",
        default=os.environ.get("MLP_BILLING_ENDPOINT"),
        help="The Cloud Billing API endpoint for refresh-prices (default: MLP_BILLING_ENDPOINT, "
        "else https://cloudbilling.googleapis.com).",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """`jupyter mlp`: the verb's exit code."""
    try:
        code = _run_verb(argv)
        sys.stdout.flush()  # here, where a reader gone away can still be caught
        return code
    except BrokenPipeError:
        # The reader stopped reading (`jupyter mlp status ID | head`): stop without a
        # traceback. Python flushes stdout again at exit, so point it at devnull first.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def _run_verb(argv: Sequence[str] | None) -> int:
    options = build_parser().parse_args(argv)
    if getattr(options, "action", None) == REFRESH_PRICES:
        return _refresh_prices(options)  # Google's API, read from here: no server needed
    client: Client | None = None
    given_root = getattr(options, "root_dir", None)
    root_dir = Path(given_root).expanduser().resolve() if given_root else None
    try:
        client = connect(url=options.url, token=options.token, directory=root_dir)
        if root_dir is not None and isinstance(client, ServerClient):
            client.root_dir = root_dir
        code: int = options.run(client, options)
        return code
    except MLPError as exc:
        return _fail(describe_error(exc), EXIT_USAGE if exc.status < 500 else EXIT_SERVER)
    except ServerUnreachable as exc:
        return _fail(str(exc), EXIT_SERVER)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    finally:
        if client is not None:
            client.close()


# ----- the verbs -----


def submit_body(client: Client, options: argparse.Namespace) -> dict[str, Any]:
    """The body of POST /mlp/jobs for `jupyter mlp submit FILE ...`: FILE and other local
    files named as the server names them (relative to its root dir, not to the shell)."""
    path = Path(options.file)
    if path.is_file():
        source = {"path": client.source_path(path)}
    elif client.root_dir is None:
        source = {"path": options.file}  # a server elsewhere: the path as it names it
    else:
        raise MLPError.invalid("file", f"no file '{options.file}'")
    return spec_body(options, kind=options.kind, source=source, server_path=client.source_path)


def _submit(client: Client, options: argparse.Namespace) -> int:
    handle = JobHandle(client, client.submit(submit_body(client, options)))
    _note(f"submitted {handle.name} ({handle.id}) to {client.where}")
    _warn(handle.job)
    if options.wait:
        try:
            job = handle.wait(stream=sys.stderr if options.json else sys.stdout)
            code = EXIT_OK
        except JobFailed as exc:
            job, code = exc.job, EXIT_JOB_FAILED
        _emit(
            options,
            _job_json(job),
            f"{job.name} ({job.id}): {_state_line(job)}" + _best_trial_text(job),
        )
        return code
    if isinstance(client, DirectClient):
        # No server watches this job: stay until it has started (it then runs on its own).
        _note("waiting for it to start (no Jupyter server runs it; Ctrl-C leaves it queued)")
        while handle.state is JobState.QUEUED:
            time.sleep(0.1)
    job = handle.job
    _emit(options, _job_json(job), f"{job.id}  {job.name}  {_state_line(job)}")
    return EXIT_OK


def _list(client: Client, options: argparse.Namespace) -> int:
    jobs = client.list_jobs(states=options.state, limit=options.limit)
    _emit(options, {"jobs": [_job_json(j) for j in jobs]}, repr(JobList(jobs)))
    return EXIT_OK


def _status(client: Client, options: argparse.Namespace) -> int:
    job = client.get(options.job_id)
    resources = job.spec.resources
    gpu = (
        f"{resources.accelerator_type or 'any'} x{resources.accelerator_count}"
        if resources.accelerator_count
        else "none"
    )
    fields = [
        ("id", job.id),
        ("name", job.name),
        ("kind", job.kind.value),
        ("backend", job.backend),
        ("state", _state_line(job)),
        ("source", job.spec.source.path or "(cell code)"),
        ("machine", resources.machine_type or "default"),
        ("gpus", gpu),
        ("created", _when(job.created_at)),
        ("started", _when(job.started_at)),
        ("ended", _when(job.ended_at)),
        ("backend job", job.backend_job_id or ""),
        ("console", job.console_url or ""),
        ("metrics", _metrics_text(job)),
        *sorted(job.outputs.items()),
    ]
    text = "\n".join(f"{k + ':':13} {v}" for k, v in fields if v) + _trials_text(job)
    _emit(options, _job_json(job), text)
    return EXIT_OK


def _metrics_text(job: Job) -> str:
    """Each reported metric's last value: `accuracy=0.93 (step 149), loss=0.21`."""
    last = [(name, points[-1]) for name, points in job.metrics.items() if points]
    return ", ".join(
        f"{name}={point.value:g}" + ("" if point.step is None else f" (step {point.step})")
        for name, point in last
    )


def _trials_text(job: Job) -> str:
    """A sweep's trials as a table (the best one starred)."""
    if not job.trials:
        return ""
    rows = [
        (
            ("*" if trial.id == job.best_trial else "") + trial.id,
            trial.state.value,
            "" if trial.metric is None else f"{trial.metric:g}",
            " ".join(f"{name}={value}" for name, value in trial.parameters.items()),
        )
        for trial in job.trials
    ]
    return "\n\n" + _table(("TRIAL", "STATE", "METRIC", "PARAMETERS"), rows)


def _logs(client: Client, options: argparse.Namespace) -> int:
    client.log_debug = options.debug
    handle = JobHandle(client, client.get(options.job_id))
    if options.follow:
        handle.wait(stream=sys.stdout, raise_on_failure=False)
    else:
        handle.print_logs(sys.stdout)
    return EXIT_OK


def _cancel(client: Client, options: argparse.Namespace) -> int:
    job = client.cancel(options.job_id, drain=options.drain)
    _emit(options, _job_json(job), f"{job.id}  {job.name}  {_state_line(job)}")
    return EXIT_OK


def _delete(client: Client, options: argparse.Namespace) -> int:
    """Delete each job in turn; the first refusal (an active job) stops with its error."""
    deleted = []
    for given in options.job_ids:
        job = client.get(given)
        client.delete(job.id)
        deleted.append(job)
        if not options.json:
            print(f"deleted {job.id}  {job.name}")
    if options.json:
        print(json.dumps({"deleted": [{"id": j.id, "name": j.name} for j in deleted]}, indent=2))
    return EXIT_OK


def _rerun(client: Client, options: argparse.Namespace) -> int:
    """The job again: as it was (the server's rerun), or with the changes given."""
    if not options.param and options.name is None:
        job = client.rerun(options.job_id)
    else:
        earlier = client.get(options.job_id)
        body = earlier.spec.model_dump(mode="json")
        body["parameters"] = {**body.get("parameters", {}), **parse_params(options.param)}
        if options.name is not None:
            body["name"] = options.name
        job = client.submit(body, rerun_of=earlier.id)
    _warn(job)
    _emit(options, _job_json(job), f"{job.id}  {job.name}  {_state_line(job)}")
    return EXIT_OK


def _catalog(client: Client, options: argparse.Namespace) -> int:
    catalog = client.catalog(options.backend, options.region)
    render: Callable[[dict[str, Any]], str] = (
        _local_catalog_text if "gpus" in catalog else _cloud_catalog_text
    )
    _emit(options, catalog, render(catalog))
    return EXIT_OK


def _refresh_prices(options: argparse.Namespace) -> int:
    from ..catalog import billing

    endpoint = options.billing_endpoint or billing.DEFAULT_ENDPOINT
    regions = billing.default_regions() | ({options.region} if options.region else set())
    try:
        refresh = billing.refresh_prices(endpoint, regions, billing.credentials_for(endpoint))
    except billing.NoCredentials as exc:
        hint = "run `gcloud auth application-default login`"
        return _fail(f"{exc}: nothing refreshed ({hint})", EXIT_USAGE)
    except Exception as exc:  # the API's refusal or a failed connection, as Google says it
        return _fail(f"the Cloud Billing Catalog API at {endpoint} failed: {exc}", EXIT_SERVER)
    _emit(options, refresh.to_json(), refresh.text())
    return EXIT_OK


# ----- shaping the answers -----


def _cloud_catalog_text(catalog: dict[str, Any]) -> str:
    short = {a["type"]: a["short_name"] for a in catalog["accelerators"]}
    region = catalog["region"] or f"{catalog['default_region']} (default)"
    machines = [
        (
            m["name"],
            str(m["vcpus"]),
            f"{m['memory_gb']:g}",
            "; ".join(
                f"{short.get(a['type'], a['type'])}: {','.join(map(str, a['counts']))}"
                for a in m["accelerators"]
            )
            or "-",
            _price(m["hourly_usd"]),
        )
        for m in catalog["machine_types"]
    ]
    accelerators = [
        (
            a["short_name"],
            a["type"],
            f"{a['memory_gb']:g}",
            _price(a["hourly_usd"]),
            str(len(a["regions"])),
        )
        for a in catalog["accelerators"]
    ]
    return "\n".join(
        [
            f"{catalog['backend']} in {region}; catalog as of {catalog['as_of']}, "
            f"estimated list prices as of {catalog['prices_as_of']}",
            "",
            _table(("MACHINE", "VCPUS", "MEMORY_GB", "ACCELERATORS: COUNTS", "USD/H"), machines),
            "",
            _table(("GPU", "TYPE", "MEMORY_GB", "USD/H", "REGIONS"), accelerators),
        ]
    )


def _local_catalog_text(catalog: dict[str, Any]) -> str:
    memory = catalog.get("memory_mb")
    head = (
        f"local: {catalog.get('cpu_count')} CPUs, "
        f"{f'{memory / 1024:.0f} GB memory' if memory else 'memory unknown'}, "
        f"up to {catalog.get('max_concurrent_jobs')} jobs at once"
    )
    gpus = catalog["gpus"]
    if not gpus:
        return f"{head}\nno GPUs ({catalog.get('gpu_detection', '')})"
    rows = [
        (
            g["id"],
            g.get("name") or "-",
            str(g.get("memory_total_mb") or "-"),
            str(g.get("memory_used_mb") if g.get("memory_used_mb") is not None else "-"),
            str(g.get("utilization_percent") if g.get("utilization_percent") is not None else "-"),
            g.get("job_id") or "free",
        )
        for g in gpus
    ]
    table = _table(("GPU", "NAME", "MEMORY_MB", "USED_MB", "UTIL%", "JOB"), rows)
    return f"{head}\n{table}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    every = [headers, *rows]
    widths = [max(len(row[i]) for row in every) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in every
    )


def _price(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _state_line(job: Job) -> str:
    return f"{job.state.value}" + (f" ({job.state_message})" if job.state_message else "")


def _best_trial_text(job: Job) -> str:
    """For an ended sweep: its best trial, with its parameters and metric."""
    if job.spec.sweep is None:
        return ""
    best = next((t for t in job.trials if t.id == job.best_trial), None)
    if best is None:
        return f"\nno best trial: none of {len(job.trials)} trials reported a metric"
    parameters = " ".join(f"{name}={value}" for name, value in best.parameters.items())
    metric = job.spec.sweep.metric.name
    return f"\nbest trial: {best.id}  {metric}={best.metric:g}  {parameters}"


def _when(moment: Any) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _job_json(job: BaseModel) -> dict[str, Any]:
    return job.model_dump(mode="json")


def _emit(options: argparse.Namespace, payload: Any, text: str) -> None:
    if getattr(options, "json", False):
        print(json.dumps(payload, indent=2))
    else:
        print(text)


def _warn(job: Job) -> None:
    """What the checks at submit warned of (an undeclared parameter, ...), one line each."""
    for warning in job.warnings:
        _note(f"warning: {warning.field}: {warning.message}")


def _note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _fail(message: str, code: int) -> int:
    print(f"jupyter mlp: error: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
