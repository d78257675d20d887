"""ETL jobs: an Apache Beam pipeline file, run by a runner named explicitly, here or on Dataflow.

A pipeline file takes its options from its command line (`PipelineOptions()`, or the rest of
`argparse.parse_known_args()` after its own arguments), so the same file runs unchanged on this
machine and on Dataflow: `pipeline_args` gives the options a job's spec means in each place.
Locally the runner is pinned (Beam's default first tries to download Prism, which behaves
differently online and offline); on Dataflow the options name the project, region, locations,
job name, labels, workers and their accelerators.

`python -m jupyter_mlp.jobfiles.etl --submit REPORT BUNDLE [OPTIONS...]` submits a bundle's
pipeline to Dataflow with Beam's own DataflowRunner and returns as soon as the service answered,
without waiting for the pipeline: it wraps `DataflowRunner.run_pipeline` (the runner's public entry
point) so that the job id of the `DataflowPipelineResult` it returns is written to REPORT and
the process ends there. So a pipeline ending in `with Pipeline(...)` or in
`pipeline.run().wait_until_finish()` submits alike. REPORT also says why when no job was made.

Only the standard library is imported at module level: the submission runs in a fresh process
that should import little besides Beam, and the server imports this module without Beam.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import traceback
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ..core.models import FieldError, JobSpec

# A batch pipeline runs on the FnApiRunner (what Beam's DirectRunner picks for batch, without
# first trying Prism); a streaming one on the BundleBasedDirectRunner, which runs unbounded
# sources and real-time timers.
LOCAL_BATCH_RUNNER = "FnApiRunner"
LOCAL_STREAMING_RUNNER = "BundleBasedDirectRunner"
LABEL_JOB_ID = "mlp-job-id"
LABEL_MANAGED = "mlp-managed"
# Dataflow's TPU workers: `type:<tpu type>;topology:<topology>` (see the notes of
# backends/dataflow/data/dataflow.json: ct5lp-hightpu-1t/-4t/-8t take 1x1, 2x2 and 2x4 v5e slices).
TPU_WORKERS = {"TPU_V5_LITEPOD": ("tpu-v5-lite-podslice", {1: "1x1", 4: "2x2", 8: "2x4"})}
_NAME_CHARS = re.compile(r"[^a-z0-9]+")
_LABEL_CHARS = re.compile(r"[^a-z0-9_-]")
_JOB_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,1022}[a-z0-9])?$")
# Options a spec's own fields also set on Dataflow: the field, then Beam's option and aliases.
# Given in the args, an option is the user's choice: it fills its field where the field is
# unset (so no server default overrides it), and a field set otherwise is an error.
TYPED_OPTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("region", ("region",)),
    ("resources.machine_type", ("machine_type", "worker_machine_type")),
    ("resources.replica_count", ("num_workers",)),
    ("resources.max_workers", ("max_num_workers",)),
    ("scheduling.service_account", ("service_account_email",)),
    ("environment", ("sdk_container_image", "worker_harness_container_image")),
)
_WHOLE_NUMBERS = {"resources.replica_count", "resources.max_workers"}
SERVICE_OPTIONS = ("dataflow_service_options", "dataflow_service_option")
WORKER_ACCELERATOR = "worker_accelerator="


@dataclass(frozen=True)
class DataflowTarget:
    """Where a pipeline is submitted: the backend's settings, resolved."""

    project: str
    region: str
    temp_location: str
    staging_location: str | None = None
    endpoint: str | None = None
    no_auth: bool = False  # a local stand-in of the API: no credentials are looked up
    service_account: str | None = None


def is_streaming(spec: JobSpec) -> bool:
    """A streaming pipeline: its args say `--streaming` (as Beam's own option does)."""
    return any(arg == "--streaming" or arg == "--streaming=true" for arg in spec.args)


def pipeline_args(
    spec: JobSpec,
    *,
    where: Literal["local", "dataflow"],
    job_id: str | None = None,
    job_name: str | None = None,
    target: DataflowTarget | None = None,
    requirements_file: str | None = None,
    extra_package: str | None = None,
) -> list[str]:
    """The Beam pipeline options a spec means `where` it runs, to follow the spec's own args.

    An option the spec's args already give is left to them: it is the user's choice, which
    neither a typed field (made to agree with it by `adopt_options`) nor a server setting
    repeats or overrides. For Dataflow, `job_id`, `job_name` (our job's name) and `target`
    are required; `requirements_file` and `extra_package` are local paths Beam stages for
    the workers."""
    streaming = is_streaming(spec)
    if where == "local":
        return [f"--runner={LOCAL_STREAMING_RUNNER if streaming else LOCAL_BATCH_RUNNER}"]
    if job_id is None or target is None:
        raise ValueError("a Dataflow submission needs the job's id and a target")
    given = {name for name, _ in given_options(spec.args)}
    # Ours whatever the args say: the name ends with our id, which finds the job again.
    args = [
        "--runner=DataflowRunner",
        f"--job_name={dataflow_job_name(job_name or spec.name or 'etl', job_id)}",
    ]

    def add(value: object, *names: str) -> None:
        if value and not given.intersection(names):
            args.append(f"--{names[0]}={value}")

    add(target.project, "project")
    add(target.region, "region")
    add(target.temp_location, "temp_location")
    add(target.staging_location, "staging_location")
    if target.endpoint:
        args.append(f"--dataflow_endpoint={target.endpoint}")
    if target.no_auth:
        args.append("--no_auth")
    labels = {label(k, key=True): label(v) for k, v in spec.labels.items()}
    labels.update({LABEL_JOB_ID: label(job_id), LABEL_MANAGED: "true"})
    args += [f"--labels={key}={value}" for key, value in labels.items()]
    resources = spec.resources
    add(resources.machine_type, "machine_type", "worker_machine_type")
    # One worker is the field's default: only more is a choice Dataflow is told of.
    add(resources.replica_count if resources.replica_count > 1 else None, "num_workers")
    add(resources.max_workers, "max_num_workers")
    accelerator = worker_accelerator(resources.accelerator_type, resources.accelerator_count)
    if accelerator and not args_accelerator(spec.args):
        args.append(f"--dataflow_service_options={WORKER_ACCELERATOR}{accelerator}")
    add(spec.scheduling.service_account or target.service_account, "service_account_email")
    add(spec.environment, "sdk_container_image", "worker_harness_container_image")
    if requirements_file:
        # Workers install the requirements from PyPI; no local download cache is filled first.
        args += [f"--requirements_file={requirements_file}", "--requirements_cache=skip"]
    if extra_package:
        args.append(f"--extra_package={extra_package}")
    if spec.source.code is not None or (spec.source.path or "").endswith(".ipynb"):
        # A cell's or notebook's functions use its globals: workers get them pickled.
        args.append("--save_main_session")
    return args


def given_options(args: list[str]) -> list[tuple[str, str]]:
    """(name, value) of every `--name=value` and `--name value` in `args`, in order (a bare
    `--flag` has the value "")."""
    found = []
    for index, arg in enumerate(args):
        if not arg.startswith("--") or arg == "--":
            continue
        name, equals, value = arg[2:].partition("=")
        if not equals and index + 1 < len(args) and not args[index + 1].startswith("--"):
            value = args[index + 1]
        found.append((name, value))
    return found


def option_value(args: list[str], *names: str) -> tuple[str, str] | None:
    """(name, value) of the option `names` as Beam's parser ends with it: the last given."""
    given = [(name, value) for name, value in given_options(args) if name in names]
    return given[-1] if given else None


def args_accelerator(args: list[str]) -> str | None:
    """The `worker_accelerator` service option the args give (its value), or None."""
    values = [
        value[len(WORKER_ACCELERATOR) :]
        for name, value in given_options(args)
        if name in SERVICE_OPTIONS and value.startswith(WORKER_ACCELERATOR)
    ]
    return values[-1] if values else None


def adopt_options(spec: JobSpec) -> tuple[JobSpec, list[FieldError]]:
    """The spec with each Dataflow option its args give put in the typed field that means it
    (where that field is unset), and an error for each option that the args and a typed
    field give differently, naming both."""
    from pydantic import ValidationError

    from ..core.models import FieldError

    updates: dict[str, dict[str, Any]] = {"": {}, "resources": {}, "scheduling": {}}
    errors: list[FieldError] = []
    for field, names in TYPED_OPTIONS:
        given = option_value(spec.args, *names)
        if given is None:
            continue
        name, text = given
        if not text:
            continue  # an empty option is Beam's to refuse
        section, _, key = field.rpartition(".")
        value: object = text
        if field in _WHOLE_NUMBERS:
            if not (text.isascii() and text.isdigit()) or int(text) < 1:
                errors.append(
                    FieldError(
                        field="args",
                        message=f"--{name}={text} in args is not a number of workers (1 or more)",
                    )
                )
                continue
            value = int(text)
        typed = getattr(getattr(spec, section) if section else spec, key)
        if field == "resources.replica_count" and typed == 1:
            typed = None  # the field's default, not a choice
        if typed is None:
            updates[section][key] = value
        elif typed != value:
            errors.append(_disagree(f"--{name}={text}", field, typed, str(value)))
    errors += _adopt_accelerator(spec, updates["resources"])
    if option_value(spec.args, "job_name") is not None:
        errors.append(
            FieldError(
                field="args",
                message="--job_name in args: the Dataflow job is named from the job's name "
                "(and its id, which finds it again); give name instead",
            )
        )
    try:  # the workers' numbers within the fields' bounds
        resources = type(spec.resources).model_validate(
            {**spec.resources.model_dump(), **updates["resources"]}
        )
    except ValidationError as exc:
        wrong = exc.errors()[0]
        field = ".".join(["resources", *map(str, wrong["loc"])])
        errors.append(
            FieldError(field="args", message=f"args give {field} {wrong['input']}: {wrong['msg']}")
        )
    if errors:
        return spec, errors
    return spec.model_copy(
        update={
            **updates[""],
            "resources": resources,
            "scheduling": spec.scheduling.model_copy(update=updates["scheduling"]),
        }
    ), []


def _adopt_accelerator(spec: JobSpec, update: dict[str, Any]) -> list[FieldError]:
    """The worker accelerator the args give, put in `update` (the resources' fields) if the
    spec names none; an error if it names another."""
    from ..catalog.cloud import normalize_accelerator

    accelerator = args_accelerator(spec.args)
    parts = dict(p.split(":", 1) for p in (accelerator or "").split(";") if ":" in p)
    if "type" not in parts or not parts.get("count", "").isdigit():
        return []  # none, or a TPU's topology: passed on as given
    try:
        kind = normalize_accelerator(parts["type"])
        typed = spec.resources.accelerator_type
        typed = normalize_accelerator(typed) if typed else None
    except ValueError:
        return []  # not the catalog's: Dataflow (or the resources' check) says what is wrong
    count = int(parts["count"])
    given = f"--dataflow_service_options={WORKER_ACCELERATOR}{accelerator}"
    if typed is None:
        update.update(accelerator_type=kind, accelerator_count=count)
    elif typed != kind:
        return [_disagree(given, "resources.accelerator_type", typed, kind)]
    elif spec.resources.accelerator_count != count:
        typed_count = spec.resources.accelerator_count
        return [_disagree(given, "resources.accelerator_count", typed_count, str(count))]
    return []


def _disagree(given: str, field: str, typed: object, value: str) -> FieldError:
    from ..core.models import FieldError

    return FieldError(
        field=field,
        message=f"args give {given} but {field} is {typed!r}: give it in one place, "
        "or the same in both",
        suggestions=[value],
    )


def dataflow_job_name(name: str, job_id: str) -> str:
    """A Dataflow job name from our job's name and id: lowercase letters, digits and dashes,
    starting with a letter; unique because it ends with our id, so it also finds the job."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = _NAME_CHARS.sub("-", ascii_name.lower()).strip("-")
    if not slug[:1].isalpha():
        slug = f"mlp-{slug}".rstrip("-")
    made = f"{slug[:40].rstrip('-')}-{_NAME_CHARS.sub('-', job_id.lower()).strip('-')}"
    assert _JOB_NAME.match(made), made
    return made


def label(value: str, key: bool = False) -> str:
    """A valid label value (or key, which must start with a letter): lowercase letters,
    digits, - and _, at most 63 characters."""
    cleaned = _LABEL_CHARS.sub("-", value.lower())
    if key and not cleaned[:1].isalpha():
        cleaned = "l-" + cleaned
    return cleaned[:63]


def worker_accelerator(accelerator_type: str | None, count: int) -> str | None:
    """The `worker_accelerator` service option for an accelerator of the catalog, or None."""
    if not accelerator_type or not count:
        return None
    if accelerator_type in TPU_WORKERS:
        tpu, topologies = TPU_WORKERS[accelerator_type]
        return f"type:{tpu};topology:{topologies.get(count, str(count))}"
    from ..catalog.cloud import load_catalog

    known = load_catalog("dataflow").accelerators.get(accelerator_type)
    name = known.compute_name if known else accelerator_type.lower().replace("_", "-")
    return f"type:{name};count:{count};install-nvidia-driver"


def output_args(args: list[str]) -> list[tuple[str, str]]:
    """(name, value) of the args that name an output: --output, --output_path, --outputs..."""
    found = []
    for index, arg in enumerate(args):
        if not arg.startswith("--output"):
            continue
        name, equals, value = arg[2:].partition("=")
        if not equals and index + 1 < len(args) and not args[index + 1].startswith("--"):
            value = args[index + 1]
        if value:
            found.append((name, value))
    return found


# ----- the submitting process -----


@dataclass(frozen=True)
class Submission:
    """A job's submission as recorded in a folder of its own; both records outlive the
    server, so a restarted server knows where a submission stands."""

    dir: Path

    @property
    def submitter(self) -> Path:
        """Written by the backend: the submitting process's pid and start time."""
        return self.dir / "submitter.json"

    @property
    def report(self) -> Path:
        """Written by the submitting process: {"job_id"}, or {"error", "exit_code"} and, when
        the create call itself failed, {"create": what it met (see `create_error`)}."""
        return self.dir / "submitted.json"

    def read(self, path: Path) -> dict[str, Any]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def reported_job(self) -> str | None:
        found = self.read(self.report).get("job_id")
        return str(found) if found else None

    def seconds_since_report(self) -> float:
        try:
            return time.time() - self.report.stat().st_mtime
        except OSError:
            return float("inf")


def write_json(path: Path, record: dict[str, Any]) -> None:
    """Replace a record atomically, so a reader never sees half of one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(record), encoding="utf-8")
    os.replace(tmp, path)


class Submitted(SystemExit):
    """Ends the submitting process once Dataflow has the job (the user's code stops there)."""


def create_error(exc: BaseException) -> dict[str, Any]:
    """What a create call met, for the server to decide on: the error's facts (whether an
    answer came, Google's code and status, the `google.rpc` details, the message), as
    `ErrorFacts.record` writes them."""
    from ..backends.gcp.errors import ErrorFacts

    return ErrorFacts.of(exc).record()


def submit(report: Path, bundle: Path, options: list[str]) -> int:
    """Run a bundle's pipeline file with `options` after its own args, in this process, until
    Dataflow answers the job's creation; record the job id (or why there is none) in `report`.

    The create call is made once, not retried by Beam (which retries any 5xx or unanswered
    call blindly): the server decides, on the error's code, after looking the job up. A
    create that Dataflow answers with the active job of our name (made by an earlier
    attempt whose answer was lost) is that job."""
    from . import runner

    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    entry = str(bundle / manifest["entrypoint"])
    met = _answer_once(report)
    runner.place_includes(manifest, bundle)
    try:
        code, problem = _run_pipeline_file(entry, [*manifest["args"], *options], manifest)
    except Submitted:
        return 0
    if not problem:
        problem = (
            "the pipeline file ended without submitting a job to Dataflow: does it give its "
            "command-line options to PipelineOptions (e.g. PipelineOptions(pipeline_args))?"
        )
    failed: dict[str, Any] = {"error": problem, "exit_code": code or 1, "pid": os.getpid()}
    if "create" in met:
        failed["create"] = met["create"]
    write_json(report, failed)
    return code or 1


def _answer_once(report: Path) -> dict[str, Any]:
    """Make Beam's DataflowRunner create the job once, record what the create met, and end
    the process (`Submitted`) once the job has an id, written to `report`. Returns where
    what the create met is put: {"answer"} or {"create": `create_error`'s record}."""
    from apache_beam.runners.dataflow.dataflow_runner import DataflowRunner
    from apache_beam.runners.dataflow.internal import apiclient

    run_pipeline = DataflowRunner.run_pipeline
    client = apiclient.DataflowApplicationClient
    beams = client.submit_job_description
    create_once = getattr(beams, "__wrapped__", beams)  # without Beam's retries
    met: dict[str, Any] = {}

    def submit_once(self: Any, job: Any) -> Any:
        create = self._jobs_client.create_job

        def recorded(*args: Any, **kwargs: Any) -> Any:
            try:
                met["answer"] = create(*args, **kwargs)
            except Exception as exc:
                met["create"] = create_error(exc)
                raise
            return met["answer"]

        self._jobs_client.create_job = recorded
        try:
            return create_once(self, job)
        except apiclient.DataflowJobAlreadyExistsError:
            answer = met.get("answer")
            if answer is not None and answer.name == job.proto.name:  # ends with our id: ours
                print(f"[mlp] Dataflow already has this job: {answer.id}", flush=True)
                return answer
            raise

    def submitted(self: Any, pipeline: Any, pipeline_options: Any, *rest: Any) -> Any:
        result = run_pipeline(self, pipeline, pipeline_options, *rest)
        write_json(report, {"job_id": result.job_id(), "pid": os.getpid()})
        print(f"[mlp] Dataflow job {result.job_id()} submitted; it runs on Dataflow", flush=True)
        raise Submitted(0)

    DataflowRunner.run_pipeline = submitted  # type: ignore[method-assign]
    client.submit_job_description = submit_once  # type: ignore[method-assign]
    return met


def _run_pipeline_file(entry: str, args: list[str], manifest: dict[str, Any]) -> tuple[int, str]:
    """Run the pipeline file as its own program would run; (exit code, what went wrong: "" if
    nothing did). `Submitted` passes through: the job was made."""
    from . import runner

    problem = ""
    try:
        if manifest.get("ipython"):
            code = runner.run_ipython_script(entry, args)  # prints what the code raised
            if code:
                problem = "the pipeline file failed before its job was submitted; see the log"
        else:
            sys.argv = [entry, *args]
            sys.path[0] = os.path.dirname(entry)
            import runpy

            runpy.run_path(entry, run_name="__main__")
            code = 0
    except Submitted:
        raise
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        problem = f"the pipeline file exited (status {code}) before its job was submitted"
    except BaseException as exc:
        # As python shows it: from the pipeline file's frame on, not this function's.
        shown = exc.__traceback__
        while shown is not None and shown.tb_frame.f_code.co_filename != entry:
            shown = shown.tb_next
        traceback.print_exception(type(exc), exc, shown or exc.__traceback__)
        code, problem = 1, f"{type(exc).__name__}: {exc}"
    return code, problem


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[0] == "--submit":
        return submit(Path(argv[1]), Path(argv[2]), argv[3:])
    usage = "usage: python -m jupyter_mlp.jobfiles.etl --submit REPORT BUNDLE [OPTIONS...]"
    print(usage, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
