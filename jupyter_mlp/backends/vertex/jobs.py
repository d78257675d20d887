"""What a job becomes at Vertex AI: the CustomJob asked for, and how Vertex's words map to ours.

A job is one worker pool (or, with more than one replica, a chief pool of one and a worker pool
of the rest, for which Vertex sets CLUSTER_SPEC and TF_CONFIG). Each pool installs the job's
package and runs its runner: through `python_package_spec` in a prebuilt training container, or
in any other image by pip-installing the package from the bucket's Cloud Storage FUSE mount
(Vertex takes only its prebuilt containers for `python_package_spec`). Vertex sets AIP_MODEL_DIR
and friends from the base output directory `gs://<bucket>/mlp/<job id>/`, mounted in the job at
`/gcs/<bucket>/mlp/<job id>/`, where the runner writes the executed notebook and its status.

A sweep is a `HyperparameterTuningJob`: its study (metric, parameter specs, algorithm) and
budget, and as `trial_job_spec` exactly the job spec the job's CustomJob would have. Vertex
runs each trial as such a CustomJob, appending the trial's parameters to the program's
arguments as `--name=value` and setting CLOUD_ML_TRIAL_ID; trials report their metric through
cloudml-hypertune.
"""

from __future__ import annotations

import re
from typing import Any

from ...core.models import Job, JobState, SweepParameter, SweepSpec, Trial
from ..gcp.staging import RUNNER_MODULE

LABEL_JOB_ID = "mlp-job-id"
LABEL_MANAGED = "mlp-managed"
PREBUILT_PATH = "-docker.pkg.dev/vertex-ai/training/"
EXAMPLE_IMAGE = "us-docker.pkg.dev/vertex-ai/training/pytorch-gpu.2-4.py310:latest"
CONSOLE = "https://console.cloud.google.com"
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

# A trial's state at Vertex -> ours. A trial that had not ended when its tuning job did takes
# the tuning job's end (see `trials`).
TRIAL_STATES = {
    "STATE_UNSPECIFIED": JobState.QUEUED,
    "REQUESTED": JobState.QUEUED,
    "ACTIVE": JobState.RUNNING,
    "STOPPING": JobState.RUNNING,
    "SUCCEEDED": JobState.SUCCEEDED,
    "INFEASIBLE": JobState.FAILED,
}
ALGORITHMS = {"grid": "GRID_SEARCH", "random": "RANDOM_SEARCH", "bayes": "ALGORITHM_UNSPECIFIED"}
SCALES = {"linear": "UNIT_LINEAR_SCALE", "log": "UNIT_LOG_SCALE"}


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
    )


def tuning_job(
    job: Job, package_uri: str, image: str, bucket_path: str, service_account: str | None
) -> Any:
    """The `HyperparameterTuningJob` of a sweep: each trial runs as `custom_job` would run
    the job, with the trial's parameters appended to its arguments."""
    from google.cloud.aiplatform_v1 import types

    sweep = job.spec.sweep
    assert sweep is not None
    tuning: dict[str, Any] = {
        "display_name": job.name[:128],
        "study_spec": study_spec(sweep),
        "max_trial_count": sweep.max_trials,
        "parallel_trial_count": sweep.parallel_trials,
        "trial_job_spec": job_spec(job, package_uri, image, bucket_path, service_account),
        "labels": job_labels(job),
    }
    if sweep.max_failed_trials is not None:
        tuning["max_failed_trial_count"] = sweep.max_failed_trials
    return types.HyperparameterTuningJob(**tuning)


def study_spec(sweep: SweepSpec) -> dict[str, Any]:
    """The study of a sweep: its metric and goal, its parameters, its search algorithm."""
    return {
        "metrics": [{"metric_id": sweep.metric.name, "goal": sweep.metric.goal.upper()}],
        "parameters": [parameter_spec(p) for p in sweep.parameters],
        "algorithm": ALGORITHMS[sweep.algorithm],
    }


def parameter_spec(parameter: SweepParameter) -> dict[str, Any]:
    """A `StudySpec.ParameterSpec`: a range (double, integer) or a list of values."""
    spec: dict[str, Any] = {"parameter_id": parameter.name}
    if parameter.type == "double":
        spec["double_value_spec"] = {"min_value": parameter.min, "max_value": parameter.max}
    elif parameter.type == "integer":
        assert parameter.min is not None and parameter.max is not None
        spec["integer_value_spec"] = {
            "min_value": int(parameter.min),
            "max_value": int(parameter.max),
        }
    elif parameter.type == "discrete":
        spec["discrete_value_spec"] = {"values": [float(v) for v in parameter.values or []]}
    else:
        spec["categorical_value_spec"] = {"values": [str(v) for v in parameter.values or []]}
        return spec  # categories have no scale
    spec["scale_type"] = SCALES[parameter.scale]
    return spec


def trials(tuning: Any, sweep: SweepSpec) -> list[dict[str, Any]]:
    """The trials of a `HyperparameterTuningJob` as `Trial` dicts: state, the parameters (typed
    as the sweep declares them), the final value of the sweep's metric, times, and why a trial
    failed."""
    from google.cloud.aiplatform_v1 import types

    kinds = {p.name: p for p in sweep.parameters}
    job_state = STATES.get(types.JobState(tuning.state).name)
    seen = []
    for trial in tuning.trials:
        state = TRIAL_STATES.get(types.Trial.State(trial.state).name, JobState.QUEUED)
        if job_state is not None and job_state.terminal and not state.terminal:
            state = JobState.CANCELLED if job_state is JobState.CANCELLED else JobState.FAILED
        metric = next(
            (m.value for m in trial.final_measurement.metrics if m.metric_id == sweep.metric.name),
            None,
        )
        seen.append(
            Trial(
                id=trial.id,
                job_id=None,
                state=state,
                parameters={
                    p.parameter_id: _typed(p.value, kinds.get(p.parameter_id))
                    for p in trial.parameters
                },
                metric=metric,
                started_at=trial.start_time or None,
                ended_at=trial.end_time or None,
                message=trial.infeasible_reason,
            ).model_dump(mode="json")
        )
    return seen


def _typed(value: Any, parameter: SweepParameter | None) -> float | int | str:
    """A trial's parameter value as the sweep declared it (Vertex sends numbers as doubles)."""
    if isinstance(value, str) or parameter is None:
        return value if isinstance(value, (str, int, float)) else str(value)
    if parameter.type == "integer":
        return int(value)
    if parameter.type == "discrete":
        return next((v for v in parameter.values or [] if v == value), float(value))
    return float(value)


def job_labels(job: Job) -> dict[str, str]:
    """The spec's labels as Vertex takes them, and ours: the job's id, and that we manage it."""
    labels = {label(key, key=True): label(value) for key, value in job.spec.labels.items()}
    labels.update({LABEL_JOB_ID: label(job.id), LABEL_MANAGED: "true"})
    return labels


def job_spec(
    job: Job, package_uri: str, image: str, bucket_path: str, service_account: str | None
) -> dict[str, Any]:
    """The `CustomJobSpec` of `job`: its worker pools, scheduling and output directory."""
    from google.cloud.aiplatform_v1 import types

    spec, resources = job.spec, job.spec.resources
    machine: dict[str, Any] = {"machine_type": resources.machine_type}
    if resources.accelerator_type and resources.accelerator_count:
        machine["accelerator_type"] = resources.accelerator_type
        machine["accelerator_count"] = resources.accelerator_count
    mounted = f"/gcs/{bucket_path}/mlp/{job.id}/"
    env = {
        "MLP_JOB_ID": job.id,
        "MLP_INSTALL_IN_PLACE": "1",
        "MLP_OUTPUT_DIR": mounted,
        "PYTHONUNBUFFERED": "1",
    }
    # Only the chief records the job's status: one writer for one file.
    chief_env = {**env, "MLP_STATUS_FILE": f"{mounted}status.json"}
    trial = spec.sweep is not None
    pools = [
        {
            "machine_spec": machine,
            "replica_count": 1,
            **code_spec(image, package_uri, chief_env, trial),
        }
    ]
    if resources.replica_count > 1:
        pools.append(
            {
                "machine_spec": machine,
                "replica_count": resources.replica_count - 1,
                **code_spec(image, package_uri, env, trial),
            }
        )
    scheduling: dict[str, Any] = {
        "restart_job_on_worker_restart": spec.scheduling.restart_on_worker_restart
    }
    if spec.scheduling.timeout_seconds:
        scheduling["timeout"] = {"seconds": spec.scheduling.timeout_seconds}
    if spec.scheduling.spot:
        scheduling["strategy"] = types.Scheduling.Strategy.SPOT
    custom_spec: dict[str, Any] = {
        "worker_pool_specs": pools,
        "base_output_directory": {"output_uri_prefix": f"gs://{bucket_path}/mlp/{job.id}/"},
        "scheduling": scheduling,
    }
    account = spec.scheduling.service_account or service_account
    if account:
        custom_spec["service_account"] = account
    return custom_spec


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
