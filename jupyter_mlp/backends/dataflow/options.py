"""The Beam pipeline options a job's spec means on Dataflow.

A pipeline file takes its options from its command line, so the same file runs unchanged on this
machine and on Dataflow: here the options name the project, region, locations, job name, labels,
workers (count, disk, network, accelerators, image, service account), the KMS key, FlexRS,
Prime and the longest run. Options the spec's args already give are the user's choice:
they fill the spec's typed fields (`adopt_options`) and are never repeated or overridden.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ...core.models import FieldError, JobSpec

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
    ("resources.boot_disk_size_gb", ("disk_size_gb",)),
    ("encryption_key", ("dataflow_kms_key",)),
    ("dataflow.network", ("network",)),
    ("dataflow.subnetwork", ("subnetwork",)),
)
# Fields whose option is a whole number, and what the number counts (for the error).
_WHOLE_NUMBERS = {
    "resources.replica_count": "a number of workers (1 or more)",
    "resources.max_workers": "a number of workers (1 or more)",
    "resources.boot_disk_size_gb": "a disk size in GB (10 or more)",
}
SERVICE_OPTIONS = ("dataflow_service_options", "dataflow_service_option")
WORKER_ACCELERATOR = "worker_accelerator="
# Dataflow service options (docs: dataflow/docs/reference/service-options): Prime, and the
# longest a job may run before Dataflow cancels it.
PRIME = "enable_prime"
MAX_RUNTIME = "max_workflow_runtime_walltime_seconds="
# FlexRS's goal for a batch job that may wait for cheaper, preemptible workers.
FLEXRS_GOAL = "COST_OPTIMIZED"


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


def pipeline_args(
    spec: JobSpec,
    *,
    job_id: str,
    job_name: str | None = None,
    target: DataflowTarget,
    requirements_file: str | None = None,
    extra_package: str | None = None,
) -> list[str]:
    """The Beam pipeline options a spec means on Dataflow, to follow the spec's own args.

    An option the spec's args already give is left to them: it is the user's choice, which
    neither a typed field (made to agree with it by `adopt_options`) nor a server setting
    repeats or overrides. `job_name` is our job's name; `requirements_file` and
    `extra_package` are local paths Beam stages for the workers."""
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
    # Dataflow Prime picks its workers and refuses a machine type (the spec keeps one to
    # price the job by).
    add(
        None if spec.dataflow.prime else resources.machine_type,
        "machine_type",
        "worker_machine_type",
    )
    # One worker is the field's default: only more is a choice Dataflow is told of.
    add(resources.replica_count if resources.replica_count > 1 else None, "num_workers")
    add(resources.max_workers, "max_num_workers")
    add(resources.boot_disk_size_gb, "disk_size_gb")
    args += [f"--dataflow_service_options={option}" for option in service_options(spec)]
    add(spec.scheduling.service_account or target.service_account, "service_account_email")
    add(spec.environment, "sdk_container_image", "worker_harness_container_image")
    add(spec.encryption_key, "dataflow_kms_key")
    own = spec.dataflow
    add(own.network, "network")
    add(subnetwork_path(own.subnetwork, spec.region or target.region), "subnetwork")
    if own.no_public_ips and not given.intersection({"no_use_public_ips", "use_public_ips"}):
        args.append("--no_use_public_ips")
    add(FLEXRS_GOAL if own.flexrs else None, "flexrs_goal")
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


def service_options(spec: JobSpec) -> list[str]:
    """The Dataflow service options the spec's fields mean and its args do not already give:
    the workers' accelerator, Dataflow Prime, and the timeout as the longest run."""
    given = [v for name, v in given_options(spec.args) if name in SERVICE_OPTIONS]
    found = []
    resources = spec.resources
    accelerator = worker_accelerator(resources.accelerator_type, resources.accelerator_count)
    if accelerator and not args_accelerator(spec.args):
        found.append(f"{WORKER_ACCELERATOR}{accelerator}")
    if spec.dataflow.prime and not any(PRIME in value.split(",") for value in given):
        found.append(PRIME)
    timeout = spec.scheduling.timeout_seconds
    if timeout and not any(MAX_RUNTIME in value for value in given):
        found.append(f"{MAX_RUNTIME}{timeout}")
    return found


def subnetwork_path(subnetwork: str | None, region: str) -> str | None:
    """The workers' subnetwork as Dataflow takes it: a bare name is the job region's
    (`regions/R/subnetworks/S`); a path or URL is left as given."""
    if not subnetwork or "/" in subnetwork:
        return subnetwork
    return f"regions/{region}/subnetworks/{subnetwork}"


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

    from ...core.models import FieldError

    updates: dict[str, dict[str, Any]] = {"": {}, "resources": {}, "scheduling": {}, "dataflow": {}}
    errors = _adopt_typed(spec, updates)
    errors += _adopt_accelerator(spec, updates["resources"])
    errors += _adopt_service(spec, updates)
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
            "dataflow": spec.dataflow.model_copy(update=updates["dataflow"]),
        }
    ), []


def _adopt_typed(spec: JobSpec, updates: dict[str, dict[str, Any]]) -> list[FieldError]:
    """Each `TYPED_OPTIONS` option the args give, put in `updates` (by section) where its
    field is unset; an error where the field says otherwise or the value is not a number."""
    from ...core.models import FieldError

    errors: list[FieldError] = []
    for field, names in TYPED_OPTIONS:
        given = option_value(spec.args, *names)
        if given is None or not given[1]:
            continue  # not given, or empty: an empty option is Beam's to refuse
        name, text = given
        section, _, key = field.rpartition(".")
        value: object = text
        if field in _WHOLE_NUMBERS:
            if not (text.isascii() and text.isdigit()) or int(text) < 1:
                message = f"--{name}={text} in args is not {_WHOLE_NUMBERS[field]}"
                errors.append(FieldError(field="args", message=message))
                continue
            value = int(text)
        typed = getattr(getattr(spec, section) if section else spec, key)
        if field == "resources.replica_count" and typed == 1:
            typed = None  # the field's default, not a choice
        if typed is None:
            updates[section][key] = value
        elif typed != value:
            errors.append(_disagree(f"--{name}={text}", field, typed, str(value)))
    return errors


def _adopt_service(spec: JobSpec, updates: dict[str, dict[str, Any]]) -> list[FieldError]:
    """Dataflow's switches the args give (private IPs, FlexRS's cost goal, Prime) set in
    their fields, and the longest run they give as the timeout (an error if the timeout says
    otherwise or is out of its bounds)."""
    from pydantic import ValidationError

    from ...core.models import FieldError

    public = option_value(spec.args, "no_use_public_ips", "use_public_ips")
    if public is not None and public[0] == "no_use_public_ips":
        updates["dataflow"]["no_public_ips"] = True
    if (option_value(spec.args, "flexrs_goal") or ("", ""))[1] == FLEXRS_GOAL:
        updates["dataflow"]["flexrs"] = True
    services = [
        word.strip()
        for name, value in given_options(spec.args)
        if name in SERVICE_OPTIONS
        for word in value.split(",")
    ]
    if PRIME in services:
        updates["dataflow"]["prime"] = True
    runtimes = [word[len(MAX_RUNTIME) :] for word in services if word.startswith(MAX_RUNTIME)]
    if not runtimes:
        return []
    given = f"--dataflow_service_options={MAX_RUNTIME}{runtimes[-1]}"
    try:  # within the timeout's bounds
        timeout = (
            type(spec.scheduling).model_validate({"timeout_seconds": runtimes[-1]}).timeout_seconds
        )
    except ValidationError as exc:
        message = f"{given} in args is not a timeout: {exc.errors()[0]['msg']}"
        return [FieldError(field="args", message=message)]
    typed = spec.scheduling.timeout_seconds
    if typed is None:
        updates["scheduling"]["timeout_seconds"] = timeout
    elif typed != timeout:
        return [_disagree(given, "scheduling.timeout_seconds", typed, str(timeout))]
    return []


def _adopt_accelerator(spec: JobSpec, update: dict[str, Any]) -> list[FieldError]:
    """The worker accelerator the args give, put in `update` (the resources' fields) if the
    spec names none; an error if it names another."""
    from ...catalog.cloud import normalize_accelerator

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
    from ...core.models import FieldError

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
    from ...catalog.cloud import load_catalog

    known = load_catalog("dataflow").accelerators.get(accelerator_type)
    name = known.compute_name if known else accelerator_type.lower().replace("_", "-")
    return f"type:{name};count:{count};install-nvidia-driver"
