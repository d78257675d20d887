"""What Dataflow takes of a job's spec: a pipeline run as a script (its kind is checked by the
capabilities), an SDK container image as its environment, its labels; each problem as a
`FieldError`."""

from __future__ import annotations

from ...core.models import FieldError, JobSpec
from ...jobfiles.bundle import SourcePlan


def spec_errors(spec: JobSpec, plan: SourcePlan | None) -> list[FieldError]:
    """Every problem Dataflow would have with the job (its settings aside)."""
    errors = []
    if plan is not None and plan.mode == "notebook":
        errors.append(
            FieldError(
                field="source.mode",
                message="a notebook's pipeline is submitted as a script, which takes its "
                "options from the command line; use mode 'script'",
                suggestions=["script"],
            )
        )
    if spec.environment and (
        "/" not in spec.environment or spec.environment.startswith(("/", ".", "~"))
    ):
        errors.append(
            FieldError(
                field="environment",
                message="on Dataflow the environment is the workers' SDK container image, "
                f"such as apache/beam_python3.11_sdk:2.77.0; '{spec.environment}' is not one",
            )
        )
    if len(spec.labels) > 62:
        errors.append(FieldError(field="labels", message="Dataflow takes 62 labels at most"))
    return errors
