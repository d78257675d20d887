"""A job's alternatives (`scheduling.fallbacks`): what each one runs, and which ones Vertex AI
could never run, refused at submit.

Alternative 0 is the spec as submitted; alternative i is the spec with `fallbacks[i-1]`'s
overrides of region, machine, accelerators and strategy. An alternative that moves the job to
another region cannot keep a setting bound to the job's region (a CMEK key, a TensorBoard
instance, a reservation, a PSC network attachment live in one region), and one whose machine
the catalog refuses in its region would only fail later: both are refused before anything is
staged, each naming `scheduling.fallbacks[i].<field>`.
"""

from __future__ import annotations

from typing import Any

from ...catalog.hardware import normalize_accelerator
from ...catalog.validation import validate_resources
from ...core.models import Fallback, FieldError, JobSpec

# The settings that name a resource of the job's region, as (spec field, what it is).
REGION_BOUND = (
    ("encryption_key", "the CMEK key"),
    ("tensorboard", "the TensorBoard instance"),
    ("scheduling.reservation", "the reservation"),
    ("psc_network_attachment", "the PSC network attachment"),
)
_MACHINE = ("machine_type", "accelerator_type", "accelerator_count")


def alternatives(spec: JobSpec) -> int:
    """How many alternatives a job has: the spec itself and each of its fallbacks."""
    return 1 + len(spec.scheduling.fallbacks)


def alternative_spec(spec: JobSpec, index: int) -> JobSpec:
    """The spec of alternative `index` (0: the spec as submitted): the fallback's overrides
    applied, everything else (the job's id, output folder, labels) kept."""
    if index == 0:
        return spec
    fallback = spec.scheduling.fallbacks[index - 1]
    resources = spec.resources.model_copy(
        update=fallback.model_dump(include=set(_MACHINE), exclude_none=True)
    )
    if fallback.accelerator_type is not None and fallback.accelerator_count is None:
        resources.accelerator_count = resources.accelerator_count or 1
    if fallback.accelerator_count == 0:
        resources.accelerator_type = None
    scheduling = spec.scheduling
    if fallback.strategy is not None:
        # As the spec's own validation keeps them: `spot` mirrors the strategy, and the wait
        # for capacity belongs to Flex-start alone.
        waits = fallback.strategy == "flex_start"
        scheduling = scheduling.model_copy(
            update={
                "strategy": fallback.strategy,
                "spot": fallback.strategy == "spot",
                "max_wait_seconds": scheduling.max_wait_seconds if waits else None,
            }
        )
    update: dict[str, Any] = {"resources": resources, "scheduling": scheduling}
    if fallback.region is not None:
        update["region"] = fallback.region
    return spec.model_copy(update=update)


def normalize_fallbacks(spec: JobSpec) -> JobSpec:
    """The spec with its fallbacks' accelerators named as Vertex AI names them (`A100` ->
    `NVIDIA_TESLA_A100`), as its own resources are."""
    named = []
    for fallback in spec.scheduling.fallbacks:
        if fallback.accelerator_type:
            try:
                canonical = normalize_accelerator(fallback.accelerator_type)
            except ValueError:  # fallback_errors says what is wrong
                canonical = fallback.accelerator_type
            fallback = fallback.model_copy(update={"accelerator_type": canonical})
        named.append(fallback)
    scheduling = spec.scheduling.model_copy(update={"fallbacks": named})
    return spec.model_copy(update={"scheduling": scheduling})


def fallback_errors(spec: JobSpec, backend: str, location: str) -> list[FieldError]:
    """Every fallback Vertex AI could not run as the job asks: one that leaves the job's
    region while the spec names a resource of that region, one that changes the machine of a
    specific reservation, one whose machine the catalog refuses in its region; and fallbacks
    on a sweep, whose trials Vertex AI runs inside one tuning job."""
    fallbacks = spec.scheduling.fallbacks
    if fallbacks and spec.sweep is not None:
        return [
            FieldError(
                field="scheduling.fallbacks",
                message="a sweep runs as one Vertex AI tuning job, which cannot move to other "
                "machines or regions; give fallbacks to single jobs only",
            )
        ]
    errors: list[FieldError] = []
    home = spec.region or location
    for index, fallback in enumerate(fallbacks):
        errors += _bound_errors(spec, fallback, index, home)
        errors += _catalog_errors(spec, index, backend, location)
    return errors


def _bound_errors(spec: JobSpec, fallback: Fallback, index: int, home: str) -> list[FieldError]:
    at = f"scheduling.fallbacks[{index}]"
    errors = []
    if fallback.region is not None and fallback.region != home:
        for path, what in REGION_BOUND:
            value = _value(spec, path)
            if value and not (path == "scheduling.reservation" and value == "any"):
                errors.append(
                    FieldError(
                        field=f"{at}.region",
                        message=f"moves the job from {home} to {fallback.region}, but {path} "
                        f"({what}, {value!r}) is in {home}; drop the region from this fallback "
                        f"or {path} from the job",
                    )
                )
    reservation = spec.scheduling.reservation
    changed = [name for name in _MACHINE if getattr(fallback, name) is not None]
    if reservation and reservation != "any" and changed:
        errors.append(
            FieldError(
                field=f"{at}.{changed[0]}",
                message=f"changes the machine, but scheduling.reservation ({reservation!r}) "
                "reserves the job's own machine exactly; use reservation 'any' or leave the "
                "machine as it is",
            )
        )
    return errors


def _catalog_errors(spec: JobSpec, index: int, backend: str, location: str) -> list[FieldError]:
    """The catalog's errors about an alternative's machine in its region, on the fallback
    (those the job's own resources have already are said once, on them)."""

    def refused(of: JobSpec) -> list[dict[str, Any]]:
        found = validate_resources(backend, of.resources.model_dump(), of.region or location)
        return [p for p in found if p["severity"] == "error"]

    own = {(p["field"], p["message"]) for p in refused(spec)}
    at = f"scheduling.fallbacks[{index}]"
    return [
        FieldError(
            field=f"{at}.{p['field'].removeprefix('resources.')}",
            message=p["message"],
            suggestions=p["suggestions"],
        )
        for p in refused(alternative_spec(spec, index + 1))
        if (p["field"], p["message"]) not in own
    ]


def _value(spec: JobSpec, path: str) -> Any:
    found: Any = spec
    for part in path.split("."):
        found = getattr(found, part, None)
    return found
