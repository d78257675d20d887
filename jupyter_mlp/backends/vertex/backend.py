"""Vertex AI custom training: each job runs as a `CustomJob` in Google Cloud.

Starting a job stages its bundle as an installable package in the staging bucket
(`gcp/staging.py`), picks the prebuilt training container of the job's ML framework
(`containers.py`) and creates the CustomJob (`jobs.py`, through `api.py`). Every
CustomJob carries our job id as a label: one ListCustomJobs call per round answers for all
active jobs, and a job created just before a crash is found again instead of being created
twice. Logs come from Cloud Logging (`gcp/cloud_logging.py`); outputs live under
`gs://<bucket>/mlp/<job id>/` (`outputs.py`), and a notebook job's executed notebook is copied
into its local folder when it ends.

A sweep (`spec.sweep`) is one `HyperparameterTuningJob` instead (`sweeps.py`), whose trials each
run as the job's CustomJob would: labelled, listed, watched and cancelled the same way, and its
trials' states, parameters and final metrics are reported with the job.

What Vertex shares with Dataflow (settings, grouped polling, threads, Google's words) is
`gcp/job_service.py`'s.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import UTC, datetime
from functools import cached_property, partial
from typing import Any, ClassVar

from ...catalog.cloud import catalog_view, estimate_hourly_cost
from ...catalog.validation import normalize_cloud_resources
from ...core.models import OPTION_FIELDS, FieldError, Job, JobKind, JobSpec, JobState
from ...jobfiles.bundle import JobFolder, SourcePlan
from ..base import Launch, LogChunk, Observation, PreflightCheck, Runtime, Tracked
from ..capabilities import Capabilities
from ..gcp.errors import google_message
from ..gcp.job_service import GoogleCloudJobService
from ..gcp.staging import upload_package
from . import attempts, sweeps
from . import jobs as vertex_jobs
from .api import VertexApi
from .checks import option_errors, spec_errors
from .containers import (
    accelerator_kind,
    choose_container,
    containers_view,
    default_containers,
)
from .fallbacks import fallback_errors, normalize_fallbacks
from .jobs import STATES, label, waiting_message
from .lookups import CloudLookups, LookupCache
from .outputs import ServesOutputs, VertexOutputs, output_dir
from .preflight import vertex_preflight
from .progress import observe_progress
from .references import complete_references, refers_elsewhere
from .schedules import VertexSchedules
from .settings import VertexSettings


class VertexRuntime(Runtime):
    """What the backend keeps about one job, next to the manager's fields."""

    resource_name: str | None = None  # projects/<number>/locations/<location>/customJobs/<id>
    location: str | None = None
    package_uri: str | None = None
    executor_image: str | None = None
    executor_image_reason: str | None = None  # why that image (shown to the user)
    output_dir: str | None = None  # gs://<bucket>/mlp/<job id>/
    notebook_copied: bool = False
    status_generation: int | None = None  # of the status file whose progress was read last
    # A create whose outcome is unknown (no answer, then no look-up possible): why, and since
    # when. The watch loop looks the job up by its label until it is found or surely absent.
    unconfirmed: str | None = None
    unconfirmed_at: datetime | None = None
    # Which try at the job this is (`attempts.py`), the alternative it runs (0: the spec as
    # submitted, i: its fallbacks[i-1]), the Spot preemptions tried again so far, when the try
    # began, and why its create was refused (the next round moves on to the next alternative).
    attempt: int = 1
    alternative: int = 0
    preemptions: int = 0
    attempt_started_at: datetime | None = None
    refused: str | None = None


# Vertex AI runs a whole sweep (a HyperparameterTuningJob); the manager drives no trials.
CAPABILITIES = Capabilities(
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
    schedules=True,
    cloud_schedules=True,
    scheduling=("spot", "flex_start"),
    options=tuple(path for path in OPTION_FIELDS if not path.startswith("dataflow.")),
    job_id_label="Backend id",
    service="Vertex AI",
    unsupported={
        "etl": "Vertex AI custom training runs training code; pipelines run on Dataflow",
        "drain": "a Vertex AI job stops when it is cancelled; draining is for streaming "
        "pipelines on Dataflow",
        "progress": "Vertex AI reports no progress of a custom job; its log shows it",
    },
)


class VertexBackend(VertexSettings, ServesOutputs, GoogleCloudJobService[VertexRuntime]):
    """Runs training jobs as Vertex AI CustomJobs (its settings: `VertexSettings`)."""

    name: ClassVar[str] = "vertex"
    runtime_model: ClassVar[type[Runtime]] = VertexRuntime
    library: ClassVar[str] = "google.cloud.aiplatform_v1"
    not_installed: ClassVar[str] = "google-cloud-aiplatform is not installed"
    capabilities: ClassVar[Capabilities] = CAPABILITIES

    @property
    def api(self) -> VertexApi:
        """Vertex AI's JobService with these settings (its clients are made once)."""
        return VertexApi(
            self.cloud,
            self.api_endpoint,
            self.transport,
            self.request_timeout,
            self.retry_timeout,
            self.poll_retry_timeout,
            self.retry_initial_delay,
            self._project,
            self.log,
        )

    @property
    def outputs(self) -> VertexOutputs:
        return VertexOutputs(self.cloud, self._bucket_path(), self.root_dir, self.log)

    # ----- what the backend is and offers -----

    def _describe(self, project: str | None) -> str:
        return f"runs jobs on Vertex AI in project {project}, {self.location}"

    def normalize(self, spec: JobSpec) -> tuple[JobSpec, list[FieldError]]:
        """The spec with its machine and region, its accelerator's enum name, and the names
        its options refer to in the forms Vertex AI takes (looked up: this blocks)."""
        resources = spec.resources
        if not resources.machine_type:
            resources = resources.model_copy(update={"machine_type": self.default_machine_type})
        update = {"backend": self.name, "region": spec.region or self.location}
        spec = normalize_fallbacks(spec.model_copy(update={**update, "resources": resources}))
        spec, errors = normalize_cloud_resources(spec)
        if refers_elsewhere(spec):  # else no project is needed
            spec, problems = complete_references(spec, self.cloud.project(), self.lookups)
            errors += problems
        return spec, errors

    @property
    def lookups(self) -> CloudLookups:
        """Resource Manager and Compute Engine with these settings, answers kept a while."""
        endpoints = (self.resource_manager_endpoint, self.compute_endpoint)
        return CloudLookups(self.cloud, *endpoints, self._lookup_cache, self.lookup_cache_seconds)

    @cached_property
    def _lookup_cache(self) -> LookupCache:
        return LookupCache()

    def validate(self, spec: JobSpec, plan: SourcePlan | None) -> list[FieldError]:
        # One error on the backend, however many settings it still needs.
        missing = "; ".join(f"{m['setting']}: {m['message']}" for m in self._missing())
        errors = [FieldError(field="backend", message=missing)] if missing else []
        errors += option_errors(spec, self.service_account)
        errors += spec_errors(spec, plan, self.default_image, self.location)
        return errors + fallback_errors(spec, self.name, self.location)

    def preflight(self, spec: JobSpec) -> list[PreflightCheck]:
        return vertex_preflight(self, spec)

    def cloud_scheduler(self) -> VertexSchedules:
        """Schedules that run in Google Cloud: Cloud Scheduler jobs creating CustomJobs."""
        return VertexSchedules(self)

    def catalog(self, region: str | None, active: list[Tracked[VertexRuntime]]) -> dict[str, Any]:
        """The shared catalog, the prebuilt containers, and the ones a job with no
        requirements would get now (by what is installed here)."""
        view = catalog_view(self.name, region)
        view.update(containers_view(region or self.location))
        view["default_containers"] = default_containers(self.default_image, region or self.location)
        return view

    def estimate(self, spec: JobSpec) -> dict[str, Any] | None:
        resources = spec.resources.model_dump()
        region = spec.region or self.location
        estimate = estimate_hourly_cost(self.name, resources, region, spec.scheduling.strategy)
        if estimate is None or spec.sweep is None:
            return estimate
        return sweeps.sweep_estimate(estimate, spec.sweep)

    # ----- the life of jobs -----

    def _start(self, job: Job, folder: JobFolder) -> Launch:
        self._require_settings()
        location = job.spec.region or self.location
        sweep = job.spec.sweep is not None
        # A new job waits out an outage shorter than retry_timeout, looking as creating does.
        existing = self.api.find(location, job.id, sweep, self.retry_timeout)
        if existing is not None:
            self.log.info("jupyter-mlp: job %s already exists as %s", job.id, existing.name)
            image, package_uri = vertex_jobs.image_and_package(existing)
            runtime = VertexRuntime(
                executor_image=image,
                package_uri=package_uri,
                executor_image_reason="found at Vertex AI, created before a restart",
            )
            return self._launch(job, existing, location, runtime)
        first = VertexRuntime(attempt_started_at=datetime.now(UTC))
        try:
            return self._create(job, folder, first)
        except RuntimeError as exc:
            # With an alternative left, a refusal for capacity or quota ends only this attempt.
            if not (attempts.may_go_on(job.spec, first) and attempts.refused_for_capacity(exc)):
                raise
            first.refused = str(exc)
            return self._launch(job, None, location, first)

    def _create(self, job: Job, folder: JobFolder, runtime: VertexRuntime) -> Launch:
        """Stage and create the job of the attempt `runtime` is on (its alternative's spec)."""
        spec = attempts.attempt_spec(job.spec, runtime)
        attempt = job.model_copy(update={"spec": spec})
        location = spec.region or self.location
        runtime = self._stage(attempt, folder, location, runtime)
        assert runtime.package_uri is not None and runtime.executor_image is not None
        build = sweeps.tuning_job if spec.sweep is not None else vertex_jobs.custom_job
        image, bucket_path = runtime.executor_image, self._bucket_path()
        request = build(attempt, runtime.package_uri, image, bucket_path, self.service_account)
        request.labels = attempts.attempt_labels(dict(request.labels), runtime.attempt)
        created = self.api.create(location, request, job.id)
        if isinstance(created, str):  # it may exist: the watch loop looks for it
            runtime.unconfirmed, runtime.unconfirmed_at = created, datetime.now(UTC)
            return self._launch(job, None, location, runtime)
        return self._launch(job, created, location, runtime)

    def _stage(
        self, job: Job, folder: JobFolder, location: str, runtime: VertexRuntime
    ) -> VertexRuntime:
        """Upload the job's package and choose its image: `runtime` with both."""
        package = sweeps.package(folder.bundle, job.spec.sweep is not None)
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
        staged = {"package_uri": package_uri, "executor_image": image}
        return runtime.model_copy(update={**staged, "executor_image_reason": reason})

    def _launch(
        self, job: Job, vertex_job: Any | None, location: str, runtime: VertexRuntime
    ) -> Launch:
        runtime.resource_name = vertex_job.name if vertex_job is not None else None
        runtime.location = location
        runtime.output_dir = output_dir(self._bucket_path(), job.id)
        return Launch(
            runtime=runtime,
            backend_job_id=runtime.resource_name,
            console_url=(
                vertex_jobs.console_url(vertex_job.name, self._project()) if vertex_job else None
            ),
            outputs={"output_dir": runtime.output_dir, "model_dir": f"{runtime.output_dir}model/"},
        )

    def _group(self, tracked: Tracked[VertexRuntime]) -> Hashable:
        # One list call per region and kind (custom jobs, sweeps' tuning jobs) for the round.
        return (self._location_of(tracked), tracked.job.spec.sweep is not None)

    def _list_group(self, group: Any) -> dict[str, Any]:
        location, sweep = group
        return self.api.list_active(location, sweep)

    def _observe(self, tracked: Tracked[VertexRuntime], listed: dict[str, Any]) -> Observation:
        """What a job's CustomJob says; one not among the active ones (it ended, or is not
        listed yet) is asked for alone."""
        from google.api_core import exceptions
        from google.cloud.aiplatform_v1 import types

        vertex_job = listed.get(label(tracked.job.id))
        name = tracked.runtime.resource_name
        sweep = tracked.job.spec.sweep
        if name is None and tracked.runtime.unconfirmed:
            return self._unconfirmed(tracked, vertex_job)
        if name is None and tracked.runtime.refused:  # the next alternative, if any, now
            refused = attempts.Ending(tracked.runtime.refused)
            return attempts.go_on(tracked, refused, self._create, attempts.not_created)
        if vertex_job is None and name:
            try:
                vertex_job = self.api.get(self._location_of(tracked), name, sweep is not None)
            except exceptions.NotFound:
                return Observation(
                    JobState.FAILED,
                    backend_state="NOT_FOUND",
                    message="Vertex AI no longer knows this job (deleted in the console?)",
                )
        if vertex_job is None:
            return Observation()
        raw = types.JobState(vertex_job.state).name
        went_on = self._next_attempt(tracked, raw, vertex_job)
        if went_on is not None:
            return went_on
        seen = self._ending(tracked, raw, vertex_job.error.message)
        seen.attempts = attempts.noted(tracked, vertex_job, seen)
        if tracked.job.backend_job_id != vertex_job.name:
            seen.backend_job_id = vertex_job.name
            seen.console_url = vertex_jobs.console_url(vertex_job.name, self._project())
        waiting = waiting_message(raw, vertex_job.error.message, self._project())
        shown = tracked.job.state_message
        if tracked.job.state is JobState.STARTING and waiting != shown:
            if waiting or shown.startswith(vertex_jobs.QUEUED_PREFIX):  # queued no longer
                seen.state_message = waiting or "starting at Vertex AI"
        if sweep is not None:
            trials = sweeps.trials(vertex_job, sweep)
            if trials != [t.model_dump(mode="json") for t in tracked.job.trials]:
                seen.trials = trials
        observe_progress(self.outputs, tracked, raw, seen)
        return seen

    def _ending(self, tracked: Tracked[VertexRuntime], raw: str, said: str) -> Observation:
        """Our state for Vertex's; an ended job's message, and its notebook copied."""
        state = STATES.get(raw)
        message, runtime = "", None
        if state is not None and state.terminal:
            message = said
            if state is JobState.FAILED:
                reason = message or raw.removeprefix("JOB_STATE_")
                message = self.outputs.failure_message(tracked, reason)
            runtime = tracked.runtime.model_copy()
            runtime.notebook_copied = tracked.runtime.notebook_copied or (
                self.outputs.copy_notebook(tracked)
            )
        return Observation(state=state, backend_state=raw, message=message, runtime=runtime)

    def _next_attempt(
        self, tracked: Tracked[VertexRuntime], raw: str, vertex_job: Any
    ) -> Observation | None:
        """A job whose attempt ended for capacity, quota or a preemption: its next attempt, or
        with none left, its end as any failure's (the runner's account, the notebook). None
        for a job whose attempt goes on, or ended otherwise."""
        sweep = tracked.job.spec.sweep is not None
        if attempts.cancel_unheard(tracked, raw):  # made while the cancel was on its way
            self.api.cancel(self._location_of(tracked), vertex_job.name, sweep)
        ending = None if sweep else attempts.ending_of(tracked, vertex_job)
        if ending is None:
            return None
        return attempts.go_on(tracked, ending, self._create, partial(self._ending, tracked, raw))

    def _unconfirmed(self, tracked: Tracked[VertexRuntime], listed: Any) -> Observation:
        """A job whose create had no known outcome: look for it by its label. Found, it is
        followed from now on (and cancelled at Vertex if it was cancelled here meanwhile);
        still absent once `retry_timeout` has passed since, the job failed to be created."""
        sweep = tracked.job.spec.sweep is not None
        location = self._location_of(tracked)
        attempt = tracked.runtime.attempt
        found = listed or self.api.find(location, tracked.job.id, sweep, attempt=attempt)
        if found is None:
            cancelling = tracked.job.state is JobState.CANCELLING
            if (
                self._still_looking(tracked.runtime.unconfirmed_at, self.retry_timeout)
                and not cancelling
            ):
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
        seen = self._observe(followed, {label(tracked.job.id): found})
        seen.runtime = seen.runtime or runtime
        return seen

    def _cancel(self, tracked: Tracked[VertexRuntime], force: bool = False) -> None:
        # Vertex has no harder way to stop a job: a forced cancel asks again.
        location = self._location_of(tracked)
        name = tracked.runtime.resource_name
        sweep = tracked.job.spec.sweep is not None
        if name is None:  # cancelled while starting: find what was made meanwhile, if anything
            attempt = tracked.runtime.attempt
            found = self.api.find(location, tracked.job.id, sweep, attempt=attempt)
            if found is None:
                return
            name = found.name
        self.api.cancel(location, name, sweep)

    # ----- what jobs leave -----

    def _read_log(
        self, tracked: Tracked[VertexRuntime], cursor: str | None, limit: int, tail: int | None
    ) -> LogChunk:
        name = tracked.runtime.resource_name
        at = cursor or ""
        if name is None:
            ended = tracked.job.state.terminal
            return LogChunk("", at, at, ended, {"source": "cloud-logging"})
        number = name.rsplit("/", 1)[1]
        replica = partial(_replica, several=tracked.job.spec.resources.replica_count > 1)
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
        settled_at = self._settled_at(tracked.job, self.log_settle_seconds)
        piece = reader.read(number, cursor, limit, tail, replica, settled_at=settled_at)
        extra = {"source": "cloud-logging", **piece.notes}
        return LogChunk(piece.text, at, piece.next_cursor, piece.at_end, extra)

    # ----- where -----

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


def _replica(entry: dict[str, Any], several: bool) -> str:
    """What a log line says it came from: its trial, and its replica when there are several."""
    task = entry.get("resource", {}).get("labels", {}).get("task_name")
    # A tuning job's trials log under its id, each line labelled with its trial.
    trial = entry.get("labels", {}).get(sweeps.TRIAL_LOG_LABEL)
    shown = [f"trial {trial}"] if trial else []
    shown += [task] if several and task else []
    return f"[{' '.join(shown)}] " if shown else ""
