"""What Vertex AI takes of a job's spec: its image, its notebook, its requirements, its
labels, its sweep; each problem as a `FieldError` on the field at fault."""

from __future__ import annotations

from ...core.models import FieldError, JobSpec
from ...jobfiles.bundle import SourcePlan
from .containers import (
    NoCurrentContainer,
    accelerator_kind,
    choose_container,
    image_warning,
)
from .jobs import EXAMPLE_IMAGE, looks_like_image
from .sweeps import grid_errors


def spec_errors(
    spec: JobSpec, plan: SourcePlan | None, default_image: str, location: str
) -> list[FieldError]:
    """Every problem Vertex AI would have with the job (its settings and kind aside)."""
    errors = image_problems(spec, plan, default_image, location)
    if spec.environment and not looks_like_image(spec.environment):
        errors.append(
            FieldError(
                field="environment",
                message="on Vertex AI the environment is a container image, such as "
                f"{EXAMPLE_IMAGE}; '{spec.environment}' is not one",
                suggestions=[EXAMPLE_IMAGE],
            )
        )
    notebook = plan.notebook if plan is not None and plan.mode == "notebook" else None
    if notebook is not None and notebook.language != "python":
        errors.append(
            FieldError(
                field="source.mode",
                message=f"Vertex AI runs Python notebooks; this one is {notebook.language}",
                suggestions=["script"],
            )
        )
    for index, requirement in enumerate(plan.requirements if plan else []):
        if requirement.startswith(("/", "./", "~")):
            errors.append(
                FieldError(
                    field=f"requirements[{index}]",
                    message=f"'{requirement}' is a file on this machine, which a job on "
                    "Vertex AI cannot install; publish it or give 'name @ https://...'",
                )
            )
    if len(spec.labels) > 62:
        errors.append(FieldError(field="labels", message="Vertex AI takes 62 labels at most"))
    return errors + grid_errors(spec.sweep)


def image_problems(
    spec: JobSpec, plan: SourcePlan | None, default_image: str, location: str
) -> list[FieldError]:
    """A warning for a job's image past its end of availability; an error when the job
    names no image and none can be chosen for it (the catalog's defaults say why)."""
    if spec.environment:
        warning = image_warning(spec.environment, spec.region or location)
        if warning is None:
            return []
        return [FieldError(field="environment", message=warning, severity="warning")]
    if default_image:
        return []
    hardware = accelerator_kind(spec.resources.accelerator_type, spec.resources.accelerator_count)
    try:
        choose_container(list(plan.requirements) if plan else [], hardware)
    except NoCurrentContainer as exc:
        return [FieldError(field="environment", message=str(exc))]
    return []
