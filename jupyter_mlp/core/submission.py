"""Submitting jobs: checking a spec, planning its source, writing its folder and queueing it.

All of it blocks (the source is read, the bundle written): callers run it in the manager's
threads.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..catalog.validation import normalize_cloud_resources
from ..jobfiles.bundle import JobFolder, SourcePlan, build_bundle, pack_bundle, plan_source
from ..jobfiles.notebooks import (
    UNDECLARED,
    Parameter,
    declared_before_mark,
    default_value,
    parameter_problem,
)
from .installed import InstalledBackends
from .models import (
    FieldError,
    Job,
    JobRef,
    JobSpec,
    JobState,
    MLPError,
    Transition,
    default_job_name,
    options_set,
)
from .store import JobStore
from .sweeps import grid_warnings, sweep_errors
from .transitions import Transitions, utcnow


@dataclass
class CheckedSpec:
    """A spec with its backend resolved and its source planned, and every problem found."""

    spec: JobSpec | None
    plan: SourcePlan | None
    errors: list[FieldError]
    # The parameters its source declares (a notebook's `parameters` cell), with their defaults.
    declared: list[Parameter] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """Runnable: no problem but warnings."""
        return not any(e.blocking for e in self.errors)

    def raise_for_errors(self) -> None:
        """Raise the blocking problems as a 400 with their fields."""
        if not self.valid or self.spec is None or self.plan is None:
            blocking = [e for e in self.errors if e.blocking]
            summary = "; ".join(f"{e.field}: {e.message}" for e in blocking)
            raise MLPError(400, f"invalid job spec: {summary}", blocking)


@dataclass(frozen=True)
class ScheduledRun:
    """What makes a submitted job a schedule's run: the schedule, the fire time it was planned
    for (None for a run now), and the folder its source is read from (the snapshot)."""

    schedule_id: str
    scheduled_for: datetime | None
    source_root: Path


@dataclass
class Submission:
    """Checks specs and turns valid ones into queued jobs with their folders."""

    store: JobStore
    installed: InstalledBackends
    transitions: Transitions
    # Makes the watcher of a backend (by name) run a round now.
    wake: Callable[[str], None]
    root_dir: Path
    jobs_dir: Path
    default_backend: str
    max_include_bytes: int

    def submit(
        self,
        request: JobSpec | Mapping[str, Any],
        sweep_id: str | None = None,
        trial: int | None = None,
        run_of: ScheduledRun | None = None,
        rerun_of: JobRef | None = None,
    ) -> Job:
        """Validate a spec, write its bundle and queue it (blocking); 400 when invalid. A
        schedule's run (`run_of`) is read from the schedule's snapshot of its source;
        `rerun_of`: the job this one runs again."""
        checked = self.check_spec(request, run_of.source_root if run_of else None)
        checked.raise_for_errors()
        assert checked.spec is not None and checked.plan is not None
        spec = checked.spec
        folder = self._new_folder(spec)
        job_id = folder.path.name.rsplit("-", 1)[1]
        try:
            folder.create()
            backend_args = self._backend_args(spec)
            manifest = build_bundle(spec, checked.plan, folder.bundle, backend_args)
        except BaseException:
            shutil.rmtree(folder.path, ignore_errors=True)
            raise
        now = utcnow()
        job = Job(
            id=job_id,
            name=spec.name or default_job_name(spec),
            kind=spec.kind,
            backend=spec.backend or self.default_backend,
            state=JobState.QUEUED,
            state_message="waiting to start",
            spec=spec,
            created_at=now,
            outputs=self._outputs(folder, manifest),
            transitions=[Transition(state=JobState.QUEUED, at=now, message="submitted")],
            sweep_id=sweep_id,
            warnings=[e for e in checked.errors if not e.blocking],
            schedule_id=run_of.schedule_id if run_of else None,
            scheduled_for=run_of.scheduled_for if run_of else None,
            rerun_of=rerun_of,
            parameter_defaults=_defaults_left(spec, checked.declared),
        )
        try:
            self.store.add(job, folder=str(folder.path), trial=trial)
        except BaseException:
            shutil.rmtree(folder.path, ignore_errors=True)
            raise
        self.transitions.notify(job, None)
        self.wake(job.backend)
        return job

    def check_spec(
        self, request: JobSpec | Mapping[str, Any], source_root: Path | None = None
    ) -> CheckedSpec:
        """Every problem of a spec at once (blocking), with the normalised spec; its source
        read under `source_root` (a schedule's snapshot) instead of the root dir if given."""
        try:
            spec = request if isinstance(request, JobSpec) else JobSpec.model_validate(request)
        except ValidationError as exc:
            return CheckedSpec(None, None, MLPError.from_validation(exc).errors)
        backend_name = spec.backend or self.default_backend
        spec = spec.model_copy(update={"backend": backend_name})
        errors: list[FieldError] = []
        plan = None
        try:
            plan = plan_source(spec, source_root or self.root_dir, self.max_include_bytes)
        except MLPError as exc:
            errors.extend(exc.errors)
        declared = _declared(spec, plan)
        errors.extend(parameter_errors(spec.parameters, declared))
        if plan is not None and plan.parameters is not None:  # typed as the source's defaults
            spec = spec.model_copy(update={"parameters": plan.parameters})
        if plan is not None and "requirements" not in spec.model_fields_set:
            # The spec says what will be installed (the notebook's %pip packages), so a rerun
            # installs the same even if the notebook changed meanwhile.
            spec = spec.model_copy(update={"requirements": plan.requirements})
        errors.extend(sweep_errors(spec, self.installed))
        errors.extend(grid_warnings(spec))
        backend = self.installed.get(backend_name)
        if backend is None:
            spec, missing = self._not_installed(spec, backend_name)
            return CheckedSpec(spec, plan, errors + missing, declared)
        spec, resource_errors = backend.normalize(spec)
        errors.extend(resource_errors)
        errors.extend(self._option_errors(spec, backend_name))
        status = backend.status()
        if not status.available:
            errors.append(
                FieldError(
                    field="backend", message=f"'{backend_name}' is not available: {status.reason}"
                )
            )
        errors.extend(backend.validate(spec, plan))
        return CheckedSpec(spec, plan, errors, declared)

    def _option_errors(self, spec: JobSpec, name: str) -> list[FieldError]:
        """A kind the backend does not run, and each launch option the spec sets that it does not
        honour, naming the backends that do."""
        capabilities = self.installed.capabilities(name)
        if capabilities is None:
            return []
        errors = []
        if not capabilities.runs(spec.kind):
            errors.append(
                FieldError(
                    field="kind",
                    message=f"{capabilities.service} does not run {spec.kind.value} jobs: "
                    f"{capabilities.why_not(spec.kind.value)}",
                    suggestions=[kind.value for kind in capabilities.kinds],
                )
            )
        for path in options_set(spec):
            if path in capabilities.options:
                continue
            takers = [
                f"{other} ({theirs.service})"
                for other in self.installed.known()
                if (theirs := self.installed.capabilities(other)) is not None
                and path in theirs.options
            ]
            where = f"; {', '.join(takers)} take it" if takers else ""
            errors.append(
                FieldError(
                    field=path,
                    message=f"{capabilities.service} does not take this option{where}: "
                    "leave it unset or choose that backend",
                )
            )
        return errors

    def _backend_args(self, spec: JobSpec) -> list[str]:
        """What the checked spec's backend adds to its bundle's arguments."""
        backend = self.installed.get(spec.backend or self.default_backend)
        return backend.bundle_args(spec) if backend is not None else []

    def _not_installed(self, spec: JobSpec, name: str) -> tuple[JobSpec, list[FieldError]]:
        """A spec for a backend not set up here: refused, its resources checked if priced."""
        errors: list[FieldError] = []
        capabilities = self.installed.capabilities(name)
        if capabilities is not None and capabilities.priced:
            # Not installed here, but its resources can still be checked (the form shows
            # where the choice is wrong before the backend is set up).
            spec, errors = normalize_cloud_resources(spec)
        installed = sorted(self.installed.backends)
        errors.append(
            FieldError(
                field="backend",
                message=f"backend '{name}' is not installed; available: {', '.join(installed)}",
                suggestions=installed,
            )
        )
        return spec, errors

    def preview(self, request: JobSpec | Mapping[str, Any]) -> dict[str, Any]:
        """What submitting would run (blocking): mode, parameters, requirements, script,
        bundle manifest."""
        checked = self.check_spec(request)
        checked.raise_for_errors()
        assert checked.spec is not None and checked.plan is not None
        plan = checked.plan
        with tempfile.TemporaryDirectory() as tmp:
            manifest = build_bundle(checked.spec, plan, Path(tmp), self._backend_args(checked.spec))
            digest = hashlib.sha256(pack_bundle(Path(tmp))).hexdigest()
        info = plan.notebook
        return {
            "mode": plan.mode,
            "kernel_name": info.kernel_name if info else None,
            "parameters": [asdict(p) for p in info.parameters] if info else [],
            "detected_requirements": info.requirements if info else [],
            "magic_cells": info.magic_cells if info else [],
            "script": plan.text if plan.mode == "script" and plan.source_file is None else None,
            "manifest": manifest,
            "bundle_sha256": digest,
        }

    def _new_folder(self, spec: JobSpec) -> JobFolder:
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", spec.name or default_job_name(spec)).strip("-.")
        return JobFolder(self.jobs_dir / f"{slug[:60] or 'job'}-{uuid.uuid4().hex[:12]}")

    def _outputs(self, folder: JobFolder, manifest: dict[str, Any]) -> dict[str, str]:
        def shown(path: Path) -> str:
            # Paths relative to the root dir open in JupyterLab; others are shown as they are.
            return (
                path.relative_to(self.root_dir).as_posix()
                if path.is_relative_to(self.root_dir)
                else str(path)
            )

        outputs = {
            "folder": shown(folder.path),
            "log": shown(folder.log),
            "model_dir": shown(folder.model_dir),
        }
        if "output_notebook" in manifest:
            outputs["executed_notebook"] = shown(folder.path / manifest["output_notebook"])
        return outputs


def _declared(spec: JobSpec, plan: SourcePlan | None) -> list[Parameter]:
    """The parameters a source declares: a notebook's `parameters` cell, or what inline code
    assigns before its parameters mark; none for a script file (it gets arguments)."""
    if plan is not None and plan.notebook is not None:
        return plan.notebook.parameters
    if spec.source.code is not None:
        return declared_before_mark(spec.source.code)
    return []


def parameter_errors(given: Mapping[str, Any], declared: list[Parameter]) -> list[FieldError]:
    """Each given value that cannot be its declared type (blocking), and each parameter the
    source does not declare (a warning: papermill injects it all the same). A source that
    declares nothing (no parameters cell) is not checked."""
    if not declared:
        return []
    by_name = {p.name: p for p in declared}
    errors = []
    for name, value in given.items():
        if name not in by_name:
            errors.append(
                FieldError(field=f"parameters.{name}", message=UNDECLARED, severity="warning")
            )
        elif (problem := parameter_problem(by_name[name], value)) is not None:
            errors.append(FieldError(field=f"parameters.{name}", message=problem))
    return errors


def _defaults_left(spec: JobSpec, declared: list[Parameter]) -> dict[str, Any]:
    """The declared parameters the spec leaves at their defaults (a sweep's searched ones are
    not left), with those defaults."""
    searched = {p.name for p in spec.sweep.parameters} if spec.sweep else set()
    return {
        p.name: default_value(p)
        for p in declared
        if p.name not in spec.parameters and p.name not in searched
    }
