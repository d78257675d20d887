"""What a backend can do, declared once on its class and served by `GET /mlp/backends`.

Callers ask a backend's `capabilities`, never its name: the manager, sweeps, pricing, the bundle
and the panel all read this. Each ability a backend lacks carries the reason, in `unsupported`,
so a form or an error can say why (as SkyPilot's clouds declare `CloudImplementationFeatures`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..core.models import JobKind

SweepSupport = Literal["native", "trials"]

# The abilities a backend may lack; each has its reason in `Capabilities.unsupported`.
FEATURES = ("train", "etl", "sweeps", "drain", "progress", "priced", "schedules")


class Capabilities(BaseModel):
    """What jobs a backend runs and which optional abilities it has."""

    model_config = ConfigDict(frozen=True)

    kinds: tuple[JobKind, ...] = Field(description="The kinds of job it runs.")
    remote: bool = Field(
        description="Its jobs run in a cloud service, not on this machine: they are reviewed "
        "before they are submitted, take a region, and their outputs are URIs."
    )
    resource_fields: tuple[str, ...] = Field(
        description="The fields of a spec's `resources` it reads (and `region` when it takes one)."
    )
    sweeps: SweepSupport | None = Field(
        description="How it runs a sweep: `native` (the service searches), `trials` (each trial "
        "is a job of its own, searched here), or not at all."
    )
    drain: bool = Field(description="A running streaming job can be drained, not only cancelled.")
    progress: bool = Field(description="A running job reports its progress (stages, workers).")
    priced: bool = Field(description="Its jobs have list prices, so an estimated cost.")
    schedules: bool = Field(description="It runs jobs on a schedule.")
    cloud_schedules: bool = Field(
        default=False,
        description="Its schedules can run in its cloud (`runs_in: cloud`), with the server "
        "closed; else the server fires them.",
    )
    scheduling: tuple[str, ...] = Field(
        default=(), description="Scheduling strategies it offers beyond the standard one."
    )
    options: tuple[str, ...] = Field(
        default=(),
        description="The spec's launch options it honours (dotted paths of `OPTION_FIELDS`: "
        "`scheduling.strategy`, `network`, `dataflow.flexrs`...); a spec setting another is "
        "refused.",
    )
    job_id_label: str = Field(description="What a job's id on this backend is called.")
    service: str = Field(description="Where its jobs run, in the words its users know it by.")
    unsupported: dict[str, str] = Field(
        default_factory=dict,
        description="Each ability of `" + "`, `".join(FEATURES) + "` it lacks, and why.",
    )

    @model_validator(mode="after")
    def _every_lack_has_a_reason(self) -> Capabilities:
        lacking = {kind.value for kind in JobKind} - {kind.value for kind in self.kinds}
        lacking |= {
            name
            for name in ("sweeps", "drain", "progress", "priced", "schedules")
            if not getattr(self, name)
        }
        unexplained = sorted(lacking - set(self.unsupported))
        if unexplained:
            raise ValueError(f"say why it lacks: {', '.join(unexplained)}")
        explained_but_present = sorted(set(self.unsupported) - lacking)
        if explained_but_present:
            raise ValueError(f"unsupported names what it has: {', '.join(explained_but_present)}")
        return self

    def runs(self, kind: JobKind) -> bool:
        """Whether it runs jobs of this kind."""
        return kind in self.kinds

    def why_not(self, feature: str) -> str:
        """Why it lacks `feature` ("" when it has it)."""
        return self.unsupported.get(feature, "")
