"""The settings of the Vertex AI backend (`c.VertexBackend.<name>`), and which are missing."""

from __future__ import annotations

from typing import ClassVar

from traitlets import Enum, Float, Unicode
from traitlets.config import LoggingConfigurable


class VertexSettings(LoggingConfigurable):
    """Where Vertex AI jobs run, how the API is spoken to, how long calls are retried."""

    shown_settings: ClassVar[tuple[str, ...]] = (
        "location",
        "staging_bucket",
        "service_account",
        "api_endpoint",
        "transport",
        "logging_endpoint",
        "resource_manager_endpoint",
        "compute_endpoint",
        "scheduler_endpoint",
        "scheduler_location",
        "scheduler_service_account",
    )
    required_settings: ClassVar[tuple[tuple[str, str, str], ...]] = (
        (
            "staging_bucket",
            "the Cloud Storage bucket for job packages and outputs",
            "gs://my-bucket",
        ),
        ("location", "the region of jobs whose spec names none", "us-central1"),
    )
    endpoint_setting: ClassVar[str] = "api_endpoint"

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

    def outputs_location(self) -> str:
        """Where a job's outputs go: its folder under the staging bucket."""
        bucket = self.staging_bucket.removeprefix("gs://").strip("/")
        if not bucket:
            return "the staging bucket, once it is set"
        return f"gs://{bucket}/mlp/<job id>/ (model in model/)"

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
    compute_endpoint = Unicode(
        "https://compute.googleapis.com",
        config=True,
        help="Compute Engine API endpoint, where a job's reservation is looked up. A plain "
        "http:// loopback address (a local stand-in) is used without credentials.",
    )
    scheduler_endpoint = Unicode(
        "https://cloudscheduler.googleapis.com",
        config=True,
        help="Cloud Scheduler API endpoint, where schedules that run in Google Cloud live. A "
        "plain http:// loopback address (a local stand-in) is used without credentials.",
    )
    scheduler_location = Unicode(
        "us-central1",
        config=True,
        help="Cloud Scheduler location of a cloud schedule whose job's region Cloud Scheduler "
        "does not run in (else it runs in the job's region).",
    )
    scheduler_service_account = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Service account Cloud Scheduler mints the OAuth token for when a cloud schedule "
        "fires (it creates the CustomJob: it needs Vertex AI's custom jobs create permission, "
        "and you actAs on it). Default: the job's service account, else service_account.",
    )
    lookup_cache_seconds = Float(
        300.0,
        config=True,
        help="Seconds a looked-up project number or reservation is reused (the launch form "
        "checks a spec often); a look-up that could not be made is tried again sooner.",
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
