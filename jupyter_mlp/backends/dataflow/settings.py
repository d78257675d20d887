"""The settings of the Dataflow backend (`c.DataflowBackend.<name>`), and which are missing."""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlsplit

from traitlets import Bool, Enum, Float, Int, Unicode
from traitlets.config import LoggingConfigurable

from ..gcp.service import local_http
from .jobs import IMPORTANCES


class DataflowSettings(LoggingConfigurable):
    """Where pipelines run and keep their files, how they are submitted, cancelled, read."""

    shown_settings: ClassVar[tuple[str, ...]] = (
        "region",
        "temp_location",
        "staging_location",
        "dataflow_endpoint",
        "service_account",
    )
    required_settings: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("temp_location", "where pipelines keep temporary files", "gs://my-bucket/tmp"),
        ("region", "the region of pipelines whose spec names none", "us-central1"),
    )
    endpoint_setting: ClassVar[str] = "dataflow_endpoint"

    region = Unicode("us-central1", config=True, help="Region of jobs whose spec names none.")

    def outputs_location(self) -> str:
        """Where a pipeline's outputs go: where its own arguments say."""
        temp = self.temp_location
        return "Where the pipeline's arguments say" + (
            f"; temporary files under {temp}" if temp else ""
        )

    temp_location = Unicode(
        "",
        config=True,
        help="Where pipelines keep temporary files: gs://bucket/path (a local folder only with "
        "a local stand-in of the API). Required.",
    )
    staging_location = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Where the jobs' code and packages are staged (default: the temp location).",
    )
    dataflow_endpoint = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Dataflow API endpoint (default: https://dataflow.googleapis.com). A plain "
        "http://localhost address (a local stand-in) is used without credentials.",
    )
    service_account = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Service account the workers run as unless a spec names one (default: "
        "Compute Engine's default service account).",
    )
    default_machine_type = Unicode(
        "n1-standard-1", config=True, help="Worker machine type of jobs whose spec names none."
    )
    drain_on_cancel = Bool(
        False,
        config=True,
        help="Cancel a streaming job by draining it (it stops reading and finishes what it "
        "read) rather than at once. A drain can take minutes: after cancel_grace_seconds the "
        "job is cancelled at once.",
    )
    log_importance = Enum(
        list(IMPORTANCES),
        "JOB_MESSAGE_BASIC",
        config=True,
        help="The least important job messages shown in a job's log.",
    )
    submit_timeout = Float(
        1800.0,
        config=True,
        help="Seconds a pipeline's submission (building the graph, staging files) may take "
        "before it is stopped and the job fails.",
    )
    retry_timeout = Float(
        60.0, config=True, help="Seconds a call failing with 429 or 5xx is retried for."
    )
    submit_attempts = Int(
        4,
        config=True,
        help="Submissions of a pipeline in all when Dataflow's answer to its creation is a "
        "rate limit, a server error or none at all (the job is looked up before each).",
    )
    lost_job_watch_seconds = Float(
        120.0,
        config=True,
        help="Seconds a job whose submission was given up on, but whose creation may have "
        "happened, is looked for at Dataflow, to be cancelled if it shows up.",
    )
    log_settle_seconds = Float(
        30.0,
        config=True,
        help="Seconds after a job ends during which its messages may still grow.",
    )
    logging_endpoint = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Cloud Logging API endpoint, where the workers' logs are read (default: "
        "https://logging.googleapis.com; none when the Dataflow endpoint is a local stand-in).",
    )

    def _more_missing(self) -> list[dict[str, str]]:
        """An endpoint Beam cannot speak to; locations Dataflow's workers cannot reach."""
        missing = []
        local = local_http(self.dataflow_endpoint)
        if local and urlsplit(self.dataflow_endpoint or "").hostname != "localhost":
            missing.append(
                {
                    "setting": "DataflowBackend.dataflow_endpoint",
                    "message": "Beam's DataflowRunner speaks plain REST only to a host named "
                    "localhost: give http://localhost:PORT",
                }
            )
        for setting in ("temp_location", "staging_location"):
            value = getattr(self, setting)
            if value and not local and not value.startswith("gs://"):
                missing.append(
                    {
                        "setting": f"DataflowBackend.{setting}",
                        "message": f"'{value}' is not a Cloud Storage path, which Dataflow's "
                        "workers need: give gs://bucket/path",
                    }
                )
        return missing
