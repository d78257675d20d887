"""Sweeps at Vertex AI: a sweep is one `HyperparameterTuningJob`, whose trials Vertex runs.

Its study (metric, parameter specs, algorithm) and budget, and as `trial_job_spec` exactly the
job spec the job's CustomJob would have. Vertex runs each trial as such a CustomJob, appending
the trial's parameters to the program's arguments as `--name=value` and setting
CLOUD_ML_TRIAL_ID; trials report their metric through cloudml-hypertune, which the sweep's
package therefore installs. The tuning job's trials come back as our `Trial`s.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ...core.models import FieldError, Job, JobState, SweepParameter, SweepSpec, Trial
from ...core.sweep_search import planned_parallel, planned_trials
from ..gcp.staging import Package, build_package
from .jobs import STATES, encryption, job_labels, job_spec

# What a sweep's trials report their metric with (`import hypertune`).
HYPERTUNE = "cloudml-hypertune"
# The label a tuning job's log entries name their trial with.
TRIAL_LOG_LABEL = "ml.googleapis.com/trial_id"
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
        # A grid of fewer points than max_trials runs each point once.
        "max_trial_count": planned_trials(sweep),
        "parallel_trial_count": planned_parallel(sweep),
        "trial_job_spec": job_spec(job, package_uri, image, bucket_path, service_account),
        "labels": job_labels(job),
        **encryption(job),
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


def grid_errors(sweep: SweepSpec | None) -> list[FieldError]:
    """Vertex AI's grid search takes no double parameters: one error for each."""
    if sweep is None or sweep.algorithm != "grid":
        return []
    return [
        FieldError(
            field=f"sweep.parameters[{index}].type",
            message=f"Vertex AI's grid search takes no double parameters ('{p.name}'): "
            "make it integer, discrete or categorical, or search randomly",
            suggestions=["discrete", "integer"],
        )
        for index, p in enumerate(sweep.parameters)
        if p.type == "double"
    ]


def sweep_estimate(estimate: dict[str, Any], sweep: SweepSpec) -> dict[str, Any]:
    """A sweep costs what one trial costs, for as many trials as run side by side."""
    trials = planned_parallel(sweep)
    per_trial = estimate["usd_per_hour"]
    return {
        **estimate,
        "usd_per_hour": round(per_trial * trials, 4),
        "usd_per_trial_hour": per_trial,
        "note": f"upper bound: {trials} parallel trial(s) x {per_trial:.4f} USD/h "
        f"({estimate['note']})",
    }


def package(bundle: Path, sweep: bool) -> Package:
    """The job's package; a sweep's also installs cloudml-hypertune, which its trials
    report their metric with."""
    made = build_package(bundle)
    if not sweep or HYPERTUNE in {_requirement_name(r) for r in made.requirements}:
        return made
    with _bundle_requiring(bundle, HYPERTUNE) as copy:
        return build_package(copy)


def _requirement_name(requirement: str) -> str:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    return canonicalize_name(Requirement(requirement).name)


@contextmanager
def _bundle_requiring(bundle: Path, requirement: str) -> Iterator[Path]:
    """A copy of `bundle` whose manifest also requires `requirement` (the job's own bundle
    stays as it was made)."""
    with tempfile.TemporaryDirectory(prefix="mlp-sweep-") as folder:
        copy = Path(folder) / "bundle"
        shutil.copytree(bundle, copy)
        manifest_file = copy / "manifest.json"
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        manifest["requirements"] = [*manifest.get("requirements", []), requirement]
        manifest_file.write_text(
            json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False), encoding="utf-8"
        )
        yield copy
