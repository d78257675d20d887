"""What a job becomes at Vertex AI: the CustomJob asked for, and how Vertex's words map to ours.

A job is one worker pool (or, with more than one replica, a chief pool of one and a worker pool
of the rest, for which Vertex sets CLUSTER_SPEC and TF_CONFIG). Each pool installs the job's
package and runs its runner: through `python_package_spec` in a prebuilt training container, or
in any other image by pip-installing the package from the bucket's Cloud Storage FUSE mount
(Vertex takes only its prebuilt containers for `python_package_spec`). Vertex sets AIP_MODEL_DIR
and friends from the base output directory `gs://<bucket>/mlp/<job id>/`, mounted in the job at
`/gcs/<bucket>/mlp/<job id>/`, where the runner writes the executed notebook and its status.
A sweep's tuning job (`sweeps.py`) runs the same job spec for each trial.
"""

from __future__ import annotations

import re
from typing import Any

from ...core.models import FLEX_START_DEFAULT_WAIT, Job, JobState
from ..gcp.staging import RUNNER_MODULE

LABEL_JOB_ID = "mlp-job-id"
LABEL_MANAGED = "mlp-managed"
LABEL_SCHEDULE_ID = "mlp-schedule-id"
# Set in a scheduled CustomJob: the schedule's output folder (gs://), under which each run
# writes into `runs/<CLOUD_ML_JOB_ID>/` (the runner's `enter_run_folder`).
PER_RUN_OUTPUT = "MLP_PER_RUN_OUTPUT"
PREBUILT_PATH = "-docker.pkg.dev/vertex-ai/training/"
EXAMPLE_IMAGE = "us-docker.pkg.dev/vertex-ai/training/pytorch-gpu.2-4.py310:latest"
CONSOLE = "https://console.cloud.google.com"
ANY_RESERVATION = "any"
# How a SPECIFIC_RESERVATION is named (ReservationAffinity.key, REST reference read 2026-12-06).
RESERVATION_KEY = "compute.googleapis.com/reservation-name"
_LABEL_CHARS = re.compile(r"[^a-z0-9_-]")

# Vertex's JobState -> ours. None: nothing to change (queued or pending at Vertex is our
# STARTING, which a started job already is; paused or updating keeps what it was).
STATES: dict[str, JobState | None] = {
    "JOB_STATE_QUEUED": None,
    "JOB_STATE_PENDING": None,
    "JOB_STATE_RUNNING": JobState.RUNNING,
    "JOB_STATE_UPDATING": None,
    "JOB_STATE_PAUSED": None,
    "JOB_STATE_CANCELLING": JobState.CANCELLING,
    "JOB_STATE_SUCCEEDED": JobState.SUCCEEDED,
    "JOB_STATE_FAILED": JobState.FAILED,
    "JOB_STATE_CANCELLED": JobState.CANCELLED,
    "JOB_STATE_EXPIRED": JobState.FAILED,
    "JOB_STATE_PARTIALLY_SUCCEEDED": JobState.FAILED,
}
ENDED_AT_VERTEX = [name for name, state in STATES.items() if state is not None and state.terminal]
# Vertex AI keeps a job QUEUED "until you have sufficient quotas" when the project lacks
# remaining custom-training quota for it ("Understanding the custom training service", read
# 2026-12-06); the job itself carries no reason, so the message says what it may be.
QUEUED_PREFIX = "queued at Vertex AI"
QUEUED_FOR_QUOTA = (
    QUEUED_PREFIX + ", which keeps a job queued while the project lacks remaining "
    "custom-training quota for it (Vertex AI gives no reason): check the quotas of its "
    "machines and GPUs at {quotas} (IAM & Admin > Quotas), or wait for other jobs to end"
)


def waiting_message(raw_state: str, vertex_message: str, project: str) -> str:
    """What a job Vertex AI has not started yet is waiting for ("" if nothing to say), with
    Vertex's own words when it gives any."""
    if raw_state != "JOB_STATE_QUEUED":
        return ""
    said = f" Vertex AI says: {vertex_message}" if vertex_message else ""
    quotas = f"{CONSOLE}/iam-admin/quotas?project={project}"
    return QUEUED_FOR_QUOTA.format(quotas=quotas) + said


def custom_job(
    job: Job, package_uri: str, image: str, bucket_path: str, service_account: str | None
) -> Any:
    """The `CustomJob` that runs `job`'s package (at `package_uri`) in `image`, with its
    outputs under `gs://<bucket_path>/mlp/<job id>/`."""
    from google.cloud.aiplatform_v1 import types

    return types.CustomJob(
        display_name=job.name[:128],
        job_spec=job_spec(job, package_uri, image, bucket_path, service_account),
        labels=job_labels(job),
        **encryption(job),
    )


def scheduled_custom_job(
    job: Job,
    schedule_id: str,
    package_uri: str,
    image: str,
    bucket_path: str,
    service_account: str | None,
) -> Any:
    """The `CustomJob` each fire of a schedule creates; `job` stands for the schedule's runs
    (its id: the schedule's output folder under `mlp/`). The body is the same at every fire,
    so it names no job: each run takes its own id at run time and writes under `runs/<id>/`."""
    from google.cloud.aiplatform_v1 import types

    folder = f"gs://{bucket_path}/mlp/{job.id}/"
    labels = {k: v for k, v in job_labels(job).items() if k != LABEL_JOB_ID}
    labels[LABEL_SCHEDULE_ID] = label(schedule_id)
    spec = job_spec(job, package_uri, image, bucket_path, service_account, {PER_RUN_OUTPUT: folder})
    return types.CustomJob(
        display_name=job.name[:128], job_spec=spec, labels=labels, **encryption(job)
    )


def encryption(job: Job) -> dict[str, Any]:
    """The job's CMEK key as a CustomJob's (or tuning job's) `encryption_spec`, if it has one."""
    key = job.spec.encryption_key
    return {"encryption_spec": {"kms_key_name": key}} if key else {}


def job_labels(job: Job) -> dict[str, str]:
    """The spec's labels as Vertex takes them, and ours: the job's id, and that we manage it."""
    labels = {label(key, key=True): label(value) for key, value in job.spec.labels.items()}
    labels.update({LABEL_JOB_ID: label(job.id), LABEL_MANAGED: "true"})
    return labels


def job_spec(
    job: Job,
    package_uri: str,
    image: str,
    bucket_path: str,
    service_account: str | None,
    more_env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The `CustomJobSpec` of `job`: its worker pools (their env with `more_env`), scheduling,
    output directory and the options that place it (network, PSC interface, TensorBoard)."""
    spec = job.spec
    machine = machine_spec(job)
    mounted = f"/gcs/{bucket_path}/mlp/{job.id}/"
    env = {
        "MLP_JOB_ID": job.id,
        "MLP_INSTALL_IN_PLACE": "1",
        "MLP_OUTPUT_DIR": mounted,
        "PYTHONUNBUFFERED": "1",
        **(more_env or {}),
    }
    # Only the chief records the job's status: one writer for one file.
    chief_env = {**env, "MLP_STATUS_FILE": f"{mounted}status.json"}
    trial = spec.sweep is not None
    disk = disk_spec(job)
    # Every pool runs the one machine (Flex-start requires the same in all of them).
    pools = [
        {
            "machine_spec": machine,
            "replica_count": 1,
            **disk,
            **code_spec(image, package_uri, chief_env, trial),
        }
    ]
    if spec.resources.replica_count > 1:
        pools.append(
            {
                "machine_spec": machine,
                "replica_count": spec.resources.replica_count - 1,
                **disk,
                **code_spec(image, package_uri, env, trial),
            }
        )
    custom_spec: dict[str, Any] = {
        "worker_pool_specs": pools,
        "base_output_directory": {"output_uri_prefix": f"gs://{bucket_path}/mlp/{job.id}/"},
        "scheduling": scheduling(job),
    }
    account = spec.scheduling.service_account or service_account
    if account:
        custom_spec["service_account"] = account
    if spec.network:
        custom_spec["network"] = spec.network
    if spec.psc_network_attachment:
        custom_spec["psc_interface_config"] = {"network_attachment": spec.psc_network_attachment}
    if spec.tensorboard:
        custom_spec["tensorboard"] = spec.tensorboard
    return custom_spec


def machine_spec(job: Job) -> dict[str, Any]:
    """Each pool's `MachineSpec`: the machine, its GPUs, and the reservation it runs on."""
    from google.cloud.aiplatform_v1 import types

    resources, reservation = job.spec.resources, job.spec.scheduling.reservation
    machine: dict[str, Any] = {"machine_type": resources.machine_type}
    if resources.accelerator_type and resources.accelerator_count:
        machine["accelerator_type"] = resources.accelerator_type
        machine["accelerator_count"] = resources.accelerator_count
    affinity = types.ReservationAffinity.Type
    if reservation == ANY_RESERVATION:
        machine["reservation_affinity"] = {"reservation_affinity_type": affinity.ANY_RESERVATION}
    elif reservation:
        machine["reservation_affinity"] = {
            "reservation_affinity_type": affinity.SPECIFIC_RESERVATION,
            "key": RESERVATION_KEY,
            "values": [reservation],
        }
    return machine


def disk_spec(job: Job) -> dict[str, Any]:
    """Each pool's `disk_spec`, when the spec sets its boot disk (else Vertex AI's default)."""
    resources = job.spec.resources
    disk: dict[str, Any] = {}
    if resources.boot_disk_type:
        disk["boot_disk_type"] = resources.boot_disk_type
    if resources.boot_disk_size_gb:
        disk["boot_disk_size_gb"] = resources.boot_disk_size_gb
    return {"disk_spec": disk} if disk else {}


def scheduling(job: Job) -> dict[str, Any]:
    """The job's `Scheduling`: timeout, restarts, and how Vertex AI finds its capacity."""
    from google.cloud.aiplatform_v1 import types

    asked = job.spec.scheduling
    scheduled: dict[str, Any] = {"restart_job_on_worker_restart": asked.restart_on_worker_restart}
    if asked.timeout_seconds:
        scheduled["timeout"] = {"seconds": asked.timeout_seconds}
    if asked.strategy == "spot":
        scheduled["strategy"] = types.Scheduling.Strategy.SPOT
    elif asked.strategy == "flex_start":
        scheduled["strategy"] = types.Scheduling.Strategy.FLEX_START
        wait = asked.max_wait_seconds or FLEX_START_DEFAULT_WAIT
        scheduled["max_wait_duration"] = {"seconds": wait}
    return scheduled


def code_spec(
    image: str, package_uri: str, env: dict[str, str], trial: bool = False
) -> dict[str, Any]:
    """How a pool runs the package in `image`. A tuning job's `trial` passes on the parameters
    Vertex appends to the container's arguments (to the module's, in a prebuilt container)."""
    env_list = [{"name": k, "value": v} for k, v in env.items()]
    if PREBUILT_PATH in image:
        return {
            "python_package_spec": {
                "executor_image_uri": image,
                "package_uris": [package_uri],
                "python_module": RUNNER_MODULE,
                "args": [],
                "env": env_list,
            }
        }
    mounted = "/gcs/" + package_uri.removeprefix("gs://")
    script = (
        f"python3 -m pip install --no-input --disable-pip-version-check {mounted} "
        f"&& exec python3 -m {RUNNER_MODULE}"
    )
    # The appended arguments are the shell's $1...: "$@" hands them on.
    command = ["sh", "-c", f'{script} "$@"', "mlp-trial"] if trial else ["sh", "-c", script]
    return {"container_spec": {"image_uri": image, "command": command, "env": env_list}}


def image_and_package(vertex_job: Any) -> tuple[str, str | None]:
    """The image and package URI a CustomJob (or a tuning job's trials) was created with (read
    back after a crash)."""
    spec = getattr(vertex_job, "trial_job_spec", None) or vertex_job.job_spec
    pool = spec.worker_pool_specs[0]
    if pool.python_package_spec.executor_image_uri:
        uris = pool.python_package_spec.package_uris
        return pool.python_package_spec.executor_image_uri, uris[0] if uris else None
    return pool.container_spec.image_uri, None


def console_url(resource_name: str, project: str) -> str:
    """The Cloud console page of a CustomJob, as Google's own SDK (`aiplatform.CustomJob`)
    gives it."""
    parts = resource_name.split("/")
    return f"{CONSOLE}/agent-platform/locations/{parts[3]}/training/{parts[-1]}?project={project}"


def label(value: str, key: bool = False) -> str:
    """A valid label value (or key, which must start with a letter): lowercase letters,
    digits, - and _, at most 63 characters."""
    cleaned = _LABEL_CHARS.sub("-", value.lower())
    if key and not cleaned[:1].isalpha():
        cleaned = "l-" + cleaned
    return cleaned[:63]


def looks_like_image(value: str) -> bool:
    """A container image reference (`host/path[:tag|@digest]`), not a path on this machine."""
    host = value.split("/", 1)[0]
    return (
        "/" in value
        and not value.startswith(("/", ".", "~"))
        and ("." in host or ":" in host or host == "localhost")
        and not any(c.isspace() for c in value)
    )
