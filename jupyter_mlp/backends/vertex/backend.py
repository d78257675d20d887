"""Vertex AI custom training: each job runs as a `CustomJob` in Google Cloud.

Starting a job stages its bundle as an installable package in the staging bucket
(`staging.py`), picks the prebuilt training container of the job's ML framework
(`catalog/containers.py`) and creates the CustomJob (`vertex_jobs.py`). Every CustomJob carries
our job id as a label: one ListCustomJobs call per round answers for all active jobs, and a job
created just before a crash is found again instead of being created twice. Logs come from Cloud
Logging (`cloud_logging.py`); outputs live under `gs://<bucket>/mlp/<job id>/`, and a notebook
job's executed notebook is copied into its local folder when it ends.

A sweep (`spec.sweep`) is one `HyperparameterTuningJob` instead, whose trials each run as the
job's CustomJob would: labelled, listed, watched and cancelled the same way, and its trials'
states, parameters and final metrics are reported with the job.

Google's libraries are imported only inside the functions that use them, so a server that never
runs a Vertex job never pays for them. Their calls block, so they run in threads.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import cached_property
from importlib.util import find_spec
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from traitlets import Enum, Float, Unicode, default, observe

from ...catalog.cloud import catalog_view, estimate_hourly_cost
from ...catalog.validation import normalize_cloud_resources
from ...core.models import FieldError, Job, JobKind, JobSpec, JobState
from ...jobfiles.bundle import JobFolder, SourcePlan
from ..base import Backend, BackendStatus, Launch, LogChunk, Observation, Runtime, Tracked
from ..capabilities import Capabilities
from ..gcp.cloud_logging import CloudLogSettings, LogReaders
from ..gcp.service import GoogleCloud, classify, google_message, local_http, retry
from ..gcp.staging import Package, build_package, upload_package
from . import jobs as vertex_jobs
from .containers import (
    NoCurrentContainer,
    accelerator_kind,
    choose_container,
    containers_view,
    default_containers,
    image_warning,
)
from .jobs import (
    CONSOLE,
    ENDED_AT_VERTEX,
    LABEL_JOB_ID,
    LABEL_MANAGED,
    STATES,
    label,
    waiting_message,
)

LIST_PAGE_SIZE = 500
CREDENTIALS_MISSING = {
    "setting": "credentials",
    "message": "no Application Default Credentials: run `gcloud auth application-default "
    "login` or set GOOGLE_APPLICATION_CREDENTIALS to a key file (they are looked for again "
    "when needed: no restart)",
}
OUTPUT_FILES_LISTED = 200
# What a sweep's trials report their metric with (`import hypertune`).
HYPERTUNE = "cloudml-hypertune"
TRIAL_LOG_LABEL = "ml.googleapis.com/trial_id"


class VertexRuntime(Runtime):
    """What the backend keeps about one job, next to the manager's fields."""

    resource_name: str | None = None  # projects/<number>/locations/<location>/customJobs/<id>
    location: str | None = None
    package_uri: str | None = None
    executor_image: str | None = None
    executor_image_reason: str | None = None  # why that image (shown to the user)
    output_dir: str | None = None  # gs://<bucket>/mlp/<job id>/
    notebook_copied: bool = False
    # A create whose outcome is unknown (no answer, then no look-up possible): why, and since
    # when. The watch loop looks the job up by its label until it is found or surely absent.
    unconfirmed: str | None = None
    unconfirmed_at: datetime | None = None


class VertexBackend(Backend[VertexRuntime], CloudLogSettings):
    """Runs training jobs as Vertex AI CustomJobs."""

    name: ClassVar[str] = "vertex"
    runtime_model: ClassVar[type[Runtime]] = VertexRuntime
    # Vertex AI runs a whole sweep (a HyperparameterTuningJob); the manager drives no trials.
    capabilities: ClassVar[Capabilities] = Capabilities(
        kinds=(JobKind.TRAIN,),
        remote=True,
        resource_fields=(
            "machine_type",
            "accelerator_type",
            "accelerator_count",
            "replica_count",
            "region",
        ),
        sweeps="native",
        drain=False,
        progress=False,
        priced=True,
        schedules=False,
        job_id_label="Backend id",
        unsupported={
            "etl": "Vertex AI custom training runs training code; pipelines run on Dataflow",
            "drain": "a Vertex AI job stops when it is cancelled; draining is for streaming "
            "pipelines on Dataflow",
            "progress": "Vertex AI reports no progress of a custom job; its log shows it",
            "schedules": "jobs cannot be scheduled yet",
        },
    )

    project = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Google Cloud project of the jobs (default: Application Default Credentials').",
    )
    location = Unicode("us-central1", config=True, help="Region of jobs whose spec names none.")
    default_machine_type = Unicode(
        "n1-standard-4", config=True, help="Machine type of jobs whose spec names none."
    )
    default_image = Unicode(
        "",
        config=True,
        help="Container image of jobs whose spec names none (their environment). Empty: the "
        "prebuilt training container of the job's ML framework that is still available.",
    )
    staging_bucket = Unicode(
        "",
        config=True,
        help="Cloud Storage bucket, optionally with a path (gs://bucket/path), for the jobs' "
        "packages and outputs. Required.",
    )
    service_account = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Service account jobs run as unless their spec names one (default: Vertex AI's).",
    )
    api_endpoint = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Vertex AI API endpoint (default: <region>-aiplatform.googleapis.com). A plain "
        "http:// loopback address (a local stand-in) is used without credentials.",
    )
    transport = Enum(["rest", "grpc"], "rest", config=True, help="How the API is spoken to.")
    logging_endpoint = Unicode(
        "https://logging.googleapis.com", config=True, help="Cloud Logging API endpoint."
    )
    retry_timeout = Float(
        60.0,
        config=True,
        help="Seconds a call failing with a rate limit (429), a 5xx, a timeout or a dropped "
        "connection is retried for: an outage shorter than this fails no new job.",
    )
    poll_retry_timeout = Float(
        15.0,
        config=True,
        help="Seconds one look at the running jobs retries for (at most retry_timeout); the "
        "next round, after a back-off, looks again.",
    )
    retry_initial_delay = Float(1.0, config=True, help="First wait before a retry (doubles).")
    request_timeout = Float(
        60.0,
        config=True,
        help="Seconds one call waits for its answer. A create left unanswered is looked up by "
        "the job's label before anything else is tried.",
    )
    log_settle_seconds = Float(
        30.0,
        config=True,
        help="Seconds after a job ends during which its log may still grow (Cloud Logging "
        "shows the last entries a little later).",
    )

    @default("poll_interval")
    def _default_poll_interval(self) -> float:
        return 10.0

    @default("max_poll_interval")
    def _default_max_poll_interval(self) -> float:
        return 120.0

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cloud = GoogleCloud(self.project)

    @observe("project")
    def _project_changed(self, change: dict[str, Any]) -> None:
        self.cloud = GoogleCloud(change["new"])

    # ----- what the backend is and offers -----

    def status(self) -> BackendStatus:
        settings: dict[str, Any] = {
            "project": self.project,
            "location": self.location,
            "staging_bucket": self.staging_bucket,
            "service_account": self.service_account,
            "api_endpoint": self.api_endpoint,
            "transport": self.transport,
            "logging_endpoint": self.logging_endpoint,
        }
        if find_spec("google.cloud.aiplatform_v1") is None:
            return BackendStatus(
                name=self.name,
                available=False,
                configured=False,
                reason="google-cloud-aiplatform is not installed",
                settings=settings,
            )
        missing = self._missing()
        if self.staging_bucket and not any(m["setting"] == "credentials" for m in missing):
            settings["project"] = self.cloud.project()
        return BackendStatus.installed(
            self.name,
            settings,
            missing,
            f"runs jobs on Vertex AI in project {settings['project']}, {self.location}",
        )

    def normalize(self, spec: JobSpec) -> tuple[JobSpec, list[FieldError]]:
        resources = spec.resources
        if not resources.machine_type:
            resources = resources.model_copy(update={"machine_type": self.default_machine_type})
        update = {"backend": self.name, "region": spec.region or self.location}
        return normalize_cloud_resources(spec.model_copy(update={**update, "resources": resources}))

    def validate(self, spec: JobSpec, plan: SourcePlan | None) -> list[FieldError]:
        # One error on the backend, however many settings it still needs.
        missing = "; ".join(f"{m['setting']}: {m['message']}" for m in self._missing())
        errors = [FieldError(field="backend", message=missing)] if missing else []
        if spec.kind is JobKind.ETL:
            errors.append(
                FieldError(
                    field="kind",
                    message="Vertex AI runs training jobs; run a pipeline on dataflow or local",
                    suggestions=["train"],
                )
            )
        errors += self._image_problems(spec, plan)
        if spec.environment and not vertex_jobs.looks_like_image(spec.environment):
            errors.append(
                FieldError(
                    field="environment",
                    message="on Vertex AI the environment is a container image, such as "
                    f"{vertex_jobs.EXAMPLE_IMAGE}; '{spec.environment}' is not one",
                    suggestions=[vertex_jobs.EXAMPLE_IMAGE],
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
        if spec.sweep is not None and spec.sweep.algorithm == "grid":
            errors += [
                FieldError(
                    field=f"sweep.parameters[{index}].type",
                    message=f"Vertex AI's grid search takes no double parameters ('{p.name}'): "
                    "make it integer, discrete or categorical, or search randomly",
                    suggestions=["discrete", "integer"],
                )
                for index, p in enumerate(spec.sweep.parameters)
                if p.type == "double"
            ]
        return errors

    def catalog(self, region: str | None, active: list[Tracked[VertexRuntime]]) -> dict[str, Any]:
        """The shared catalog, the prebuilt containers, and the ones a job with no
        requirements would get now (by what is installed here)."""
        view = catalog_view(self.name, region)
        view.update(containers_view(region or self.location))
        view["default_containers"] = default_containers(self.default_image, region or self.location)
        return view

    def _image_problems(self, spec: JobSpec, plan: SourcePlan | None) -> list[FieldError]:
        """A warning for a job's image past its end of availability; an error when the job
        names no image and none can be chosen for it (the catalog's defaults say why)."""
        if spec.environment:
            warning = image_warning(spec.environment, spec.region or self.location)
            if warning is None:
                return []
            return [FieldError(field="environment", message=warning, severity="warning")]
        if self.default_image:
            return []
        hardware = accelerator_kind(
            spec.resources.accelerator_type, spec.resources.accelerator_count
        )
        try:
            choose_container(list(plan.requirements) if plan else [], hardware)
        except NoCurrentContainer as exc:
            return [FieldError(field="environment", message=str(exc))]
        return []

    def estimate(self, spec: JobSpec) -> dict[str, Any] | None:
        resources = spec.resources.model_dump()
        estimate = estimate_hourly_cost(self.name, resources, spec.region or self.location)
        if estimate is None or spec.sweep is None:
            return estimate
        # A sweep costs what one trial costs, for as many trials as run side by side.
        trials = spec.sweep.parallel_trials
        per_trial = estimate["usd_per_hour"]
        return {
            **estimate,
            "usd_per_hour": round(per_trial * trials, 4),
            "usd_per_trial_hour": per_trial,
            "note": f"upper bound: {trials} parallel trial(s) x {per_trial:.4f} USD/h "
            f"({estimate['note']})",
        }

    # ----- the life of jobs -----

    async def start(
        self, job: Job, folder: JobFolder, active: list[Tracked[VertexRuntime]]
    ) -> Launch:
        def start() -> Launch:
            try:
                return self._start(job, folder)
            except RuntimeError:
                raise
            except Exception as exc:  # an API error met on the way: Google's words, not a trace
                explained = classify(exc, self.project or self.cloud.project()).message
                raise RuntimeError(f"Vertex AI: {explained}") from exc

        return await asyncio.to_thread(start)

    def _start(self, job: Job, folder: JobFolder) -> Launch:
        missing = self._missing()
        if missing:
            raise RuntimeError("; ".join(f"{m['setting']}: {m['message']}" for m in missing))
        location = job.spec.region or self.location
        parent = self._parent(location)
        sweep = job.spec.sweep is not None
        # A new job waits out an outage shorter than retry_timeout, looking as creating does.
        existing = self._find(location, job.id, sweep, self.retry_timeout)
        if existing is not None:
            self.log.info("jupyter-mlp: job %s already exists as %s", job.id, existing.name)
            image, package_uri = vertex_jobs.image_and_package(existing)
            runtime = VertexRuntime(
                executor_image=image,
                package_uri=package_uri,
                executor_image_reason="found at Vertex AI, created before a restart",
            )
            return self._launch(job, existing, location, runtime)
        package = self._package(folder.bundle, sweep)
        try:
            package_uri, uploaded = upload_package(
                package, self._bucket(), self.cloud.storage(), prefix=self._in_bucket("packages")
            )
        except Exception as exc:
            raise RuntimeError(
                f"staging the job's package in gs://{self._bucket()} failed: {google_message(exc)}"
            ) from exc
        self.log.info("jupyter-mlp: %s %s", "uploaded" if uploaded else "reusing", package_uri)
        resources = job.spec.resources
        if job.spec.environment:
            image, reason = job.spec.environment, "the job's environment"
        elif self.default_image:
            image, reason = self.default_image, "VertexBackend.default_image"
        else:
            hardware = accelerator_kind(resources.accelerator_type, resources.accelerator_count)
            choice = choose_container(list(package.requirements), hardware)
            image, reason = choice.container.uri_in(location), choice.reason
        build = vertex_jobs.tuning_job if sweep else vertex_jobs.custom_job
        request = build(job, package_uri, image, self._bucket_path(), self.service_account)
        runtime = VertexRuntime(
            package_uri=package_uri, executor_image=image, executor_image_reason=reason
        )
        created = self._create(location, parent, request, job.id)
        if isinstance(created, str):  # it may exist: the watch loop looks for it
            runtime.unconfirmed, runtime.unconfirmed_at = created, datetime.now(UTC)
            return self._launch(job, None, location, runtime)
        return self._launch(job, created, location, runtime)

    def _launch(
        self, job: Job, vertex_job: Any | None, location: str, runtime: VertexRuntime
    ) -> Launch:
        runtime.resource_name = vertex_job.name if vertex_job is not None else None
        runtime.location = location
        runtime.output_dir = self._output_dir(job.id)
        return Launch(
            runtime=runtime,
            backend_job_id=runtime.resource_name,
            console_url=(
                vertex_jobs.console_url(vertex_job.name, self._project()) if vertex_job else None
            ),
            outputs={"output_dir": runtime.output_dir, "model_dir": f"{runtime.output_dir}model/"},
        )

    def _package(self, bundle: Path, sweep: bool) -> Package:
        """The job's package; a sweep's also installs cloudml-hypertune, which its trials
        report their metric with."""
        package = build_package(bundle)
        if not sweep or HYPERTUNE in {_requirement_name(r) for r in package.requirements}:
            return package
        with _bundle_requiring(bundle, HYPERTUNE) as copy:
            return build_package(copy)

    def _create(self, location: str, parent: str, request: Any, job_id: str) -> Any:
        """Create the CustomJob (or a sweep's HyperparameterTuningJob), retrying rate limits and
        outages until `retry_timeout`; a quota, permission or other definite refusal fails at
        once, naming what to do.

        A create whose outcome is unknown (a timeout, a dropped connection, a 5xx) may have
        made the job: it is looked up by its label before anything else, and never created
        again unless a look-up said it is not there. The job found is returned; when the
        attempts end with the outcome still unknown (or no look-up could be made), the reason
        is returned instead, and the watch loop goes on looking for the job (`_unconfirmed`)."""
        from google.cloud.aiplatform_v1 import types

        sweep = isinstance(request, types.HyperparameterTuningJob)
        jobs = self._jobs(location)
        deadline = time.monotonic() + self.retry_timeout
        delay = self.retry_initial_delay
        unknown = ""  # why an earlier create may have made the job
        while True:
            if unknown:
                try:
                    found = self._find(location, job_id, sweep, deadline - time.monotonic())
                except Exception as exc:
                    self.log.warning("jupyter-mlp: looking for job %s: %s", job_id, exc)
                    return unknown
                if found is not None:
                    return found
            try:
                if sweep:
                    return jobs.create_hyperparameter_tuning_job(
                        parent=parent,
                        hyperparameter_tuning_job=request,
                        retry=None,
                        timeout=self.request_timeout,
                    )
                return jobs.create_custom_job(
                    parent=parent, custom_job=request, retry=None, timeout=self.request_timeout
                )
            except Exception as exc:
                error = classify(exc, self.cloud.project())
                if error.outcome_unknown:
                    unknown = error.message
                if not error.retry or time.monotonic() + delay > deadline:
                    if unknown:  # it may exist: the watch loop looks for it
                        last = "" if unknown == error.message else f" (then: {error.message})"
                        return unknown + last
                    refused = f"Vertex AI did not create the job: {error.message}"
                    raise RuntimeError(refused) from exc
                self.log.warning("jupyter-mlp: creating job %s: %s; retrying", job_id, exc)
            time.sleep(delay)
            delay = min(delay * 2, 10.0)

    def _find(
        self, location: str, job_id: str, sweep: bool = False, retry_for: float | None = None
    ) -> Any:
        """The CustomJob (a sweep's HyperparameterTuningJob) labelled with our job id, or None;
        retrying for `retry_for` seconds (default: a round's look)."""
        request = {
            "parent": self._parent(location),
            "filter": f'labels.{LABEL_JOB_ID}="{label(job_id)}"',
        }
        return next(iter(self._list(location, request, sweep, retry_for)), None)

    def _list(
        self, location: str, request: dict[str, Any], sweep: bool, retry_for: float | None = None
    ) -> Any:
        """The custom jobs, or tuning jobs, a list request asks for (all pages)."""
        jobs = self._jobs(location)
        list_jobs = jobs.list_hyperparameter_tuning_jobs if sweep else jobs.list_custom_jobs
        return list_jobs(
            request=request, retry=self._retry(retry_for), timeout=self.request_timeout
        )

    async def poll(self, tracked: Tracked[VertexRuntime]) -> Observation:
        seen = (await self.poll_many([tracked]))[tracked.job.id]
        if isinstance(seen, Exception):
            raise seen
        return seen

    async def poll_many(
        self, tracked: list[Tracked[VertexRuntime]]
    ) -> dict[str, Observation | Exception]:
        return await asyncio.to_thread(self._poll_many, tracked)

    def _poll_many(
        self, tracked: list[Tracked[VertexRuntime]]
    ) -> dict[str, Observation | Exception]:
        # One list call per region and kind (custom jobs, sweeps' tuning jobs) for the round.
        groups: dict[tuple[str, bool], list[Tracked[VertexRuntime]]] = {}
        for item in tracked:
            key = (self._location_of(item), item.job.spec.sweep is not None)
            groups.setdefault(key, []).append(item)
        seen: dict[str, Observation | Exception] = {}
        for (location, sweep), items in groups.items():
            try:
                listed = self._list_active(location, sweep)
            except Exception as exc:
                seen.update({item.job.id: exc for item in items})
                continue
            for item in items:
                try:
                    seen[item.job.id] = self._observe(item, listed.get(label(item.job.id)))
                except Exception as exc:
                    seen[item.job.id] = exc
        return seen

    def _list_active(self, location: str, sweep: bool = False) -> dict[str, Any]:
        """Every CustomJob (or tuning job) of ours in `location` that has not ended, by our
        job id label."""
        terms = [f'labels.{LABEL_MANAGED}="true"'] + [f'state!="{s}"' for s in ENDED_AT_VERTEX]
        request = {
            "parent": self._parent(location),
            "filter": " AND ".join(terms),
            "page_size": LIST_PAGE_SIZE,
        }
        pager = self._list(location, request, sweep)
        return {job.labels.get(LABEL_JOB_ID, ""): job for job in pager}

    def _observe(self, tracked: Tracked[VertexRuntime], listed: Any) -> Observation:
        """What a job's CustomJob says; one not among the active ones (it ended, or is not
        listed yet) is asked for alone."""
        from google.api_core import exceptions
        from google.cloud.aiplatform_v1 import types

        vertex_job = listed
        name = tracked.runtime.resource_name
        sweep = tracked.job.spec.sweep
        if name is None and tracked.runtime.unconfirmed:
            return self._unconfirmed(tracked, listed)
        if vertex_job is None and name:
            jobs = self._jobs(self._location_of(tracked))
            get_job = jobs.get_hyperparameter_tuning_job if sweep else jobs.get_custom_job
            try:
                vertex_job = get_job(name=name, retry=self._retry(), timeout=self.request_timeout)
            except exceptions.NotFound:
                return Observation(
                    JobState.FAILED,
                    backend_state="NOT_FOUND",
                    message="Vertex AI no longer knows this job (deleted in the console?)",
                )
        if vertex_job is None:
            return Observation()
        raw = types.JobState(vertex_job.state).name
        state = STATES.get(raw)
        message, runtime = "", None
        if state is not None and state.terminal:
            message = vertex_job.error.message
            if state is JobState.FAILED:
                message = self._failure_message(tracked, message or raw.removeprefix("JOB_STATE_"))
            runtime = tracked.runtime.model_copy()
            runtime.notebook_copied = tracked.runtime.notebook_copied or self._copy_notebook(
                tracked
            )
        seen = Observation(state=state, backend_state=raw, message=message, runtime=runtime)
        if tracked.job.backend_job_id != vertex_job.name:
            seen.backend_job_id = vertex_job.name
            seen.console_url = vertex_jobs.console_url(vertex_job.name, self._project())
        waiting = waiting_message(raw, vertex_job.error.message, self._project())
        shown = tracked.job.state_message
        if tracked.job.state is JobState.STARTING and waiting != shown:
            if waiting or shown.startswith(vertex_jobs.QUEUED_PREFIX):  # queued no longer
                seen.state_message = waiting or "starting at Vertex AI"
        if sweep is not None:
            trials = vertex_jobs.trials(vertex_job, sweep)
            if trials != [t.model_dump(mode="json") for t in tracked.job.trials]:
                seen.trials = trials
        return seen

    def _unconfirmed(self, tracked: Tracked[VertexRuntime], listed: Any) -> Observation:
        """A job whose create had no known outcome: look for it by its label. Found, it is
        followed from now on (and cancelled at Vertex if it was cancelled here meanwhile);
        still absent once `retry_timeout` has passed since, the job failed to be created."""
        sweep = tracked.job.spec.sweep is not None
        location = self._location_of(tracked)
        found = listed or self._find(location, tracked.job.id, sweep)
        if found is None:
            since = tracked.runtime.unconfirmed_at or datetime.now(UTC)
            waited = (datetime.now(UTC) - since).total_seconds()
            if waited < self.retry_timeout and tracked.job.state is not JobState.CANCELLING:
                return Observation(backend_state="CREATE_UNCONFIRMED")
            return Observation(
                JobState.FAILED,
                backend_state="NOT_CREATED",
                message=f"Vertex AI did not create the job: {tracked.runtime.unconfirmed} "
                "(no job labelled with its id was found afterwards)",
            )
        runtime = tracked.runtime.model_copy(
            update={"resource_name": found.name, "location": location, "unconfirmed": None}
        )
        followed = Tracked(job=tracked.job, folder=tracked.folder, runtime=runtime)
        self.log.info("jupyter-mlp: job %s was created after all: %s", tracked.job.id, found.name)
        if tracked.job.state is JobState.CANCELLING:
            self._cancel(followed)
        seen = self._observe(followed, found)
        seen.runtime = seen.runtime or runtime
        return seen

    async def cancel(self, tracked: Tracked[VertexRuntime], force: bool = False) -> None:
        # Vertex has no harder way to stop a job: a forced cancel asks again.
        await asyncio.to_thread(self._cancel, tracked)

    def _cancel(self, tracked: Tracked[VertexRuntime]) -> None:
        from google.api_core import exceptions

        location = self._location_of(tracked)
        name = tracked.runtime.resource_name
        sweep = tracked.job.spec.sweep is not None
        if name is None:  # cancelled while starting: find what was made meanwhile, if anything
            found = self._find(location, tracked.job.id, sweep)
            if found is None:
                return
            name = found.name
        jobs = self._jobs(location)
        cancel_job = jobs.cancel_hyperparameter_tuning_job if sweep else jobs.cancel_custom_job
        try:
            cancel_job(name=name, retry=self._retry(), timeout=self.request_timeout)
        except (exceptions.FailedPrecondition, exceptions.BadRequest, exceptions.NotFound):
            pass  # it ended, or went away, meanwhile: nothing to stop

    # ----- what jobs leave -----

    @cached_property
    def _log_readers(self) -> LogReaders:
        # One per backend: its jobs' followers (panels, CLIs, magics) share what it read.
        return LogReaders()

    async def read_log(
        self,
        tracked: Tracked[VertexRuntime],
        cursor: str | None,
        limit: int,
        tail: int | None = None,
    ) -> LogChunk:
        return await asyncio.to_thread(self._read_log, tracked, cursor, limit, tail)

    def _read_log(
        self, tracked: Tracked[VertexRuntime], cursor: str | None, limit: int, tail: int | None
    ) -> LogChunk:
        name = tracked.runtime.resource_name
        at = cursor or ""
        if name is None:
            ended = tracked.job.state.terminal
            return LogChunk("", at, at, ended, {"source": "cloud-logging"})
        number = name.rsplit("/", 1)[1]
        several = tracked.job.spec.resources.replica_count > 1

        def replica(entry: dict[str, Any]) -> str:
            task = entry.get("resource", {}).get("labels", {}).get("task_name")
            # A tuning job's trials log under its id, each line labelled with its trial.
            trial = entry.get("labels", {}).get(TRIAL_LOG_LABEL)
            shown = [f"trial {trial}"] if trial else []
            shown += [task] if several and task else []
            return f"[{' '.join(shown)}] " if shown else ""

        try:
            project = self._project()
        except RuntimeError as exc:
            return LogChunk("", at, at, False, {"source": "cloud-logging", "error": str(exc)})
        reader = self._log_readers.of(
            self.cloud.post_json,
            self.logging_endpoint,
            project,
            'resource.type="ml_job"',
            self.log_reading(),
        )
        ended_at = tracked.job.ended_at
        settled_at = ended_at + timedelta(seconds=self.log_settle_seconds) if ended_at else None
        piece = reader.read(number, cursor, limit, tail, replica, settled_at=settled_at)
        extra = {"source": "cloud-logging", **piece.notes}
        return LogChunk(piece.text, at, piece.next_cursor, piece.at_end, extra)

    async def list_outputs(self, tracked: Tracked[VertexRuntime]) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self._list_outputs, tracked)

    def _list_outputs(self, tracked: Tracked[VertexRuntime]) -> list[dict[str, Any]]:
        bucket, prefix = self._blob_of(tracked, "")
        error = ""
        try:
            blobs = self.cloud.storage().list_blobs(bucket, prefix=prefix, max_results=2000)
            names = [blob.name for blob in blobs]
        except Exception as exc:
            names, error = [], f"Cloud Storage could not be listed: {google_message(exc)}"
        model = f"{prefix}model/"
        model_files = [n.removeprefix(model) for n in names if n.startswith(model)]
        outputs: list[dict[str, Any]] = [
            {
                "name": "model_dir",
                "uri": f"gs://{bucket}/{model}",
                "console_url": f"{CONSOLE}/storage/browser/{bucket}/{model}",
                "type": "directory",
                "exists": bool(model_files),
                "files": model_files[:OUTPUT_FILES_LISTED],
                "file_count": len(model_files),
            },
            {
                "name": "output_dir",
                "uri": f"gs://{bucket}/{prefix}",
                "console_url": f"{CONSOLE}/storage/browser/{bucket}/{prefix}",
                "type": "directory",
                "exists": bool(names),
            },
        ]
        notebook = self._notebook_name(tracked)
        if notebook is not None:
            if tracked.job.state.terminal and not tracked.runtime.notebook_copied:
                self._copy_notebook(tracked)
            local = tracked.folder.path / notebook
            outputs.append(
                {
                    "name": "executed_notebook",
                    "uri": f"gs://{bucket}/{prefix}{notebook}",
                    "console_url": f"{CONSOLE}/storage/browser/_details/{bucket}/"
                    f"{prefix}{notebook}",
                    "path": self._shown(local),
                    "type": "file",
                    "exists": local.exists() or f"{prefix}{notebook}" in names,
                }
            )
        if error:
            for output in outputs:
                output["error"] = error
        return outputs

    # ----- internals -----

    def _missing(self) -> list[dict[str, str]]:
        """Every setting still needed before jobs can run, all at once: [{setting, message}].

        Until a bucket says the backend is meant to be used, credentials are judged without
        the network (looking for them may ask the Compute Engine metadata server)."""
        missing = []
        if not self.staging_bucket:
            missing.append(
                {
                    "setting": "VertexBackend.staging_bucket",
                    "message": "set the Cloud Storage bucket for job packages and outputs, "
                    "e.g. c.VertexBackend.staging_bucket = 'gs://my-bucket'",
                }
            )
        if not self.location:
            missing.append(
                {
                    "setting": "VertexBackend.location",
                    "message": "set the region of jobs whose spec names none, "
                    "e.g. c.VertexBackend.location = 'us-central1'",
                }
            )
        # Google's libraries look only where credentials may be: no metadata server elsewhere.
        may_look = bool(self.staging_bucket) or self.cloud.credentials_may_exist()
        credentials = local_http(self.api_endpoint) or (may_look and self.cloud.has_credentials())
        if not credentials:
            missing.append(CREDENTIALS_MISSING)
        if not self.project and not (credentials and may_look and self.cloud.project()):
            missing.append(
                {
                    "setting": "VertexBackend.project",
                    "message": "set the Google Cloud project, e.g. c.VertexBackend.project = "
                    "'my-project' (or GOOGLE_CLOUD_PROJECT): "
                    + ("the credentials name none" if credentials else "no credentials name one"),
                }
            )
        return missing

    def _jobs(self, location: str) -> Any:
        """The JobService client of a region's endpoint (made once)."""
        endpoint = self.api_endpoint or f"{location}-aiplatform.googleapis.com"

        def make() -> Any:
            from google.api_core.client_options import ClientOptions
            from google.auth.credentials import AnonymousCredentials
            from google.cloud import aiplatform_v1

            if not local_http(endpoint):
                return aiplatform_v1.JobServiceClient(
                    credentials=self.cloud.credentials(),
                    transport=self.transport,
                    client_options=ClientOptions(api_endpoint=endpoint),
                )
            if self.transport == "grpc":  # gRPC opens TLS unless handed a plain channel
                import grpc
                from google.cloud.aiplatform_v1.services.job_service.transports import (
                    JobServiceGrpcTransport,
                )

                channel = grpc.insecure_channel(urlsplit(endpoint).netloc)
                return aiplatform_v1.JobServiceClient(
                    transport=JobServiceGrpcTransport(channel=channel)
                )
            return aiplatform_v1.JobServiceClient(
                credentials=AnonymousCredentials(),
                transport="rest",
                client_options=ClientOptions(api_endpoint=endpoint),
            )

        return self.cloud.client(f"jobs {endpoint}", make)

    def _retry(self, retry_for: float | None = None) -> Any:
        """Retry rate limits and outages for `retry_for` seconds; by default briefly, as one
        round's look at the jobs does (the manager backs off between rounds)."""
        if retry_for is None:
            retry_for = min(self.retry_timeout, self.poll_retry_timeout)
        return retry(self.retry_initial_delay, max(retry_for, 0.0))

    def _project(self) -> str:
        project = self.cloud.project()
        if not project:
            raise RuntimeError("VertexBackend.project is not set and the credentials name none")
        return project

    def _parent(self, location: str) -> str:
        return f"projects/{self._project()}/locations/{location}"

    def _location_of(self, tracked: Tracked[VertexRuntime]) -> str:
        return tracked.runtime.location or tracked.job.spec.region or self.location

    def _bucket_path(self) -> str:
        """The staging bucket and its path, without gs:// or a trailing slash."""
        return self.staging_bucket.removeprefix("gs://").strip("/")

    def _bucket(self) -> str:
        return self._bucket_path().split("/", 1)[0]

    def _in_bucket(self, path: str) -> str:
        """`mlp/<path>` under the staging bucket's own path, if it has one."""
        inside = self._bucket_path().partition("/")[2]
        return f"{inside}/mlp/{path}" if inside else f"mlp/{path}"

    def _output_dir(self, job_id: str) -> str:
        return f"gs://{self._bucket_path()}/mlp/{job_id}/"

    def _blob_of(self, tracked: Tracked[VertexRuntime], name: str) -> tuple[str, str]:
        """(bucket, object name) of `name` in the job's output directory."""
        output_dir = tracked.runtime.output_dir or self._output_dir(tracked.job.id)
        bucket, prefix = output_dir.removeprefix("gs://").split("/", 1)
        return bucket, prefix + name

    def _notebook_name(self, tracked: Tracked[VertexRuntime]) -> str | None:
        if tracked.job.spec.sweep is not None:  # each trial keeps its own, in <trial id>/
            return None
        try:
            manifest = json.loads((tracked.folder.bundle / "manifest.json").read_text("utf-8"))
        except (OSError, ValueError):
            return None
        name = manifest.get("output_notebook")
        return str(name) if name else None

    def _copy_notebook(self, tracked: Tracked[VertexRuntime]) -> bool:
        """Copy the executed notebook into the job's local folder; True once it is there."""
        notebook = self._notebook_name(tracked)
        if notebook is None:
            return False
        bucket, name = self._blob_of(tracked, notebook)
        target = tracked.folder.path / notebook
        try:
            self.cloud.storage().bucket(bucket).blob(name).download_to_filename(str(target))
        except Exception as exc:  # not written (the job failed early), or not readable
            self.log.info("jupyter-mlp: no executed notebook for %s: %s", tracked.job.id, exc)
            target.unlink(missing_ok=True)
            return False
        return True

    def _failure_message(self, tracked: Tracked[VertexRuntime], vertex_message: str) -> str:
        """Vertex's message, after the runner's own account of the failure if it left one."""
        bucket, name = self._blob_of(tracked, "status.json")
        try:
            status = json.loads(self.cloud.storage().bucket(bucket).blob(name).download_as_bytes())
        except Exception:  # no status written (the container never started the runner)
            return vertex_message
        told = status.get("message") if isinstance(status, dict) else None
        return f"{told} (Vertex AI: {vertex_message})" if told else vertex_message

    def _shown(self, path: Path) -> str:
        """A path relative to the Jupyter root dir when inside it, so it opens in JupyterLab."""
        root = self.root_dir.resolve()
        return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


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
