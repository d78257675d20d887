"""Vertex AI's JobService as the backend speaks to it: clients, retries, create, find, list.

Every CustomJob (and a sweep's HyperparameterTuningJob) carries our job id as a label: one list
call per region answers for all active jobs, and a create whose outcome is unknown is looked
up by that label before anything else is tried, so a job is never created twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..gcp.errors import classify, retry
from ..gcp.service import GoogleCloud, local_http
from .attempts import LABEL_ATTEMPT
from .jobs import ENDED_AT_VERTEX, LABEL_JOB_ID, LABEL_MANAGED, label

LIST_PAGE_SIZE = 500


@dataclass(frozen=True)
class VertexApi:
    """The JobService of each region's endpoint, with the backend's retry settings."""

    cloud: GoogleCloud
    endpoint: str | None
    transport: str
    request_timeout: float
    retry_timeout: float
    poll_retry_timeout: float
    retry_initial_delay: float
    project: Callable[[], str]
    log: logging.Logger | logging.LoggerAdapter[Any]

    def jobs(self, location: str) -> Any:
        """The JobService client of a region's endpoint (made once)."""
        endpoint = self.endpoint or f"{location}-aiplatform.googleapis.com"

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

    def retry(self, retry_for: float | None = None) -> Any:
        """Retry rate limits and outages for `retry_for` seconds; by default briefly, as one
        round's look at the jobs does (the manager backs off between rounds)."""
        if retry_for is None:
            retry_for = min(self.retry_timeout, self.poll_retry_timeout)
        return retry(self.retry_initial_delay, max(retry_for, 0.0))

    def parent(self, location: str) -> str:
        return f"projects/{self.project()}/locations/{location}"

    def create(self, location: str, request: Any, job_id: str) -> Any:
        """Create the CustomJob (or a sweep's HyperparameterTuningJob), retrying rate limits and
        outages until `retry_timeout`; a quota, permission or other definite refusal fails at
        once, naming what to do.

        A create whose outcome is unknown (a timeout, a dropped connection, a 5xx) may have
        made the job: it is looked up by its label before anything else, and never created
        again unless a look-up said it is not there. The job found is returned; when the
        attempts end with the outcome still unknown (or no look-up could be made), the reason
        is returned instead, and the watch loop goes on looking for the job."""
        from google.cloud.aiplatform_v1 import types

        sweep = isinstance(request, types.HyperparameterTuningJob)
        # A later attempt of the job is looked for by its number: earlier ones exist too.
        attempt = int(request.labels.get(LABEL_ATTEMPT, "1"))
        deadline = time.monotonic() + self.retry_timeout
        delay = self.retry_initial_delay
        unknown = ""  # why an earlier create may have made the job
        while True:
            if unknown:
                try:
                    left = deadline - time.monotonic()
                    found = self.find(location, job_id, sweep, left, attempt)
                except Exception as exc:
                    self.log.warning("jupyter-mlp: looking for job %s: %s", job_id, exc)
                    return unknown
                if found is not None:
                    return found
            try:
                return self._create_once(location, request, sweep)
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

    def _create_once(self, location: str, request: Any, sweep: bool) -> Any:
        jobs, parent = self.jobs(location), self.parent(location)
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

    def find(
        self,
        location: str,
        job_id: str,
        sweep: bool = False,
        retry_for: float | None = None,
        attempt: int = 1,
    ) -> Any:
        """The CustomJob (a sweep's HyperparameterTuningJob) labelled with our job id (and,
        for a later attempt, its number), or None; retrying for `retry_for` seconds (default:
        a round's look)."""
        terms = [f'labels.{LABEL_JOB_ID}="{label(job_id)}"']
        if attempt > 1:
            terms.append(f'labels.{LABEL_ATTEMPT}="{attempt}"')
        request = {"parent": self.parent(location), "filter": " AND ".join(terms)}
        return next(iter(self._list(location, request, sweep, retry_for)), None)

    def list_active(self, location: str, sweep: bool = False) -> dict[str, Any]:
        """Every CustomJob (or tuning job) of ours in `location` that has not ended, by our
        job id label."""
        terms = [f'labels.{LABEL_MANAGED}="true"'] + [f'state!="{s}"' for s in ENDED_AT_VERTEX]
        request = {
            "parent": self.parent(location),
            "filter": " AND ".join(terms),
            "page_size": LIST_PAGE_SIZE,
        }
        return {
            job.labels.get(LABEL_JOB_ID, ""): job for job in self._list(location, request, sweep)
        }

    def _list(
        self, location: str, request: dict[str, Any], sweep: bool, retry_for: float | None = None
    ) -> Any:
        """The custom jobs, or tuning jobs, a list request asks for (all pages)."""
        jobs = self.jobs(location)
        list_jobs = jobs.list_hyperparameter_tuning_jobs if sweep else jobs.list_custom_jobs
        return list_jobs(request=request, retry=self.retry(retry_for), timeout=self.request_timeout)

    def get(self, location: str, name: str, sweep: bool) -> Any:
        """A job by its resource name (raises NotFound when Vertex no longer knows it)."""
        jobs = self.jobs(location)
        get_job = jobs.get_hyperparameter_tuning_job if sweep else jobs.get_custom_job
        return get_job(name=name, retry=self.retry(), timeout=self.request_timeout)

    def cancel(self, location: str, name: str, sweep: bool) -> None:
        """Ask Vertex to cancel a job; one that ended, or went away, meanwhile is left be."""
        from google.api_core import exceptions

        jobs = self.jobs(location)
        cancel_job = jobs.cancel_hyperparameter_tuning_job if sweep else jobs.cancel_custom_job
        try:
            cancel_job(name=name, retry=self.retry(), timeout=self.request_timeout)
        except (exceptions.FailedPrecondition, exceptions.BadRequest, exceptions.NotFound):
            pass  # nothing to stop
