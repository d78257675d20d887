"""Vertex AI when things go wrong: creates whose answer never comes, outages, quota and
permission refusals, and set-up that is missing pieces. Google's real client libraries speak
their real REST protocol to the stand-ins of `test_vertex.py` on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import test_contract as contract
import test_vertex as shared
from fake_vertex import JobState, permission_denied, quota_exceeded, rate_limited
from test_vertex import BUCKET, DEFAULT_IMAGE, PROJECT, Submitter

from jupyter_mlp.backends.base import Tracked
from jupyter_mlp.backends.vertex.backend import VertexBackend, VertexRuntime
from jupyter_mlp.core.models import JobState as Ours

T4_QUOTA = "aiplatform.googleapis.com/custom_model_training_nvidia_t4_gpus"

# The stand-ins of test_vertex.py: Vertex AI's JobService, Cloud Logging, Cloud Storage; and
# managers of the contract suite over its Vertex driver.
storage_emulator, storage, vertex, logs = (
    shared.storage_emulator,
    shared.storage,
    shared.vertex,
    shared.logs,
)
managers, driver = contract.managers, shared.driver


@pytest.fixture
def make_backend(tmp_path, vertex, logs, storage) -> Callable[..., VertexBackend]:
    """Backends on the stand-ins, with quick retries and the given settings."""

    def make(**settings: Any) -> VertexBackend:
        settings = {"retry_initial_delay": 0.01, "retry_timeout": 5.0, **settings}
        made = VertexBackend(
            project=PROJECT,
            staging_bucket=f"gs://{BUCKET}",
            api_endpoint=vertex[1],
            logging_endpoint=logs[1],
            **{"default_image": DEFAULT_IMAGE, **settings},
        )
        made.bind(root_dir=tmp_path, wake=lambda: None)
        return made

    return make


async def start(submit: Submitter) -> Tracked[VertexRuntime]:
    job, folder = submit.job()
    launch = await submit.backend.start(job, folder, [])
    assert isinstance(launch.runtime, VertexRuntime)
    job = job.model_copy(update={"backend_job_id": launch.backend_job_id})
    return Tracked(job=job, folder=folder, runtime=launch.runtime)


async def poll(backend: VertexBackend, tracked: Tracked[VertexRuntime]) -> Any:
    seen = (await backend.poll_many([tracked]))[tracked.job.id]
    assert not isinstance(seen, Exception), seen
    return seen


def with_state(tracked: Tracked[VertexRuntime], state: Ours) -> Tracked[VertexRuntime]:
    job = tracked.job.model_copy(update={"state": state})
    return Tracked(job=job, folder=tracked.folder, runtime=tracked.runtime)


# ----- creates that cannot get lost -----


async def test_a_create_answered_after_the_clients_timeout_is_found_by_its_label(
    tmp_path, make_backend, vertex
):
    fake, _ = vertex
    backend = make_backend(request_timeout=0.3, retry_timeout=1.5)
    fake.lose_next("create", hold_seconds=2.0)  # created, answered never (after 2 s: dropped)

    tracked = await start(Submitter(tmp_path, backend))

    assert fake.count("create") == 1
    assert tracked.job.backend_job_id == fake.only().name == tracked.runtime.resource_name


async def test_a_create_whose_outcome_cannot_be_looked_up_stays_starting_and_is_followed(
    tmp_path, make_backend, vertex
):
    fake, _ = vertex
    backend = make_backend(retry_timeout=0.5, poll_retry_timeout=0.1)
    # Created, the connection dropped, then the service down for longer than retry_timeout.
    fake.lose_next("create", hold_seconds=0.0, then_down=True)

    tracked = await start(Submitter(tmp_path, backend))
    fake.recover()
    seen = await poll(backend, tracked)

    made = fake.only()
    assert tracked.job.backend_job_id is None and tracked.runtime.unconfirmed
    assert seen.backend_job_id == made.name == seen.runtime.resource_name
    assert seen.state is None  # still pending at Vertex: the job goes on starting
    assert fake.count("create") == 1


async def test_a_submitted_job_whose_create_went_unanswered_runs_instead_of_failing(
    managers, driver, vertex
):
    fake, _ = vertex
    manager = managers(retry_timeout=0.3, poll_retry_timeout=0.05)
    fake.lose_next("create", hold_seconds=0.0, then_down=True)
    job = await manager.submit({"source": {"code": "pass"}})

    await manager.tick()  # the create's answer is lost, and no look-up can be made
    starting = await manager.get(job.id)
    fake.recover()
    running = await contract.until(manager, job.id, {Ours.RUNNING})

    assert starting.state is Ours.STARTING
    assert running.backend_job_id == fake.only().name
    assert fake.count("create") == 1


async def test_a_job_cancelled_before_its_create_was_confirmed_is_cancelled_at_vertex(
    tmp_path, make_backend, vertex
):
    fake, _ = vertex
    backend = make_backend(retry_timeout=0.5, poll_retry_timeout=0.1)
    fake.lose_next("create", hold_seconds=0.0, then_down=True)
    tracked = await start(Submitter(tmp_path, backend))
    fake.recover()

    seen = await poll(backend, with_state(tracked, Ours.CANCELLING))

    assert fake.count("cancel") == 1
    assert fake.only().state == JobState.JOB_STATE_CANCELLING
    assert seen.runtime.resource_name == fake.only().name


async def test_an_unconfirmed_create_that_made_nothing_fails_once_looked_for(
    tmp_path, make_backend, vertex
):
    fake, _ = vertex
    backend = make_backend(retry_timeout=0.3, poll_retry_timeout=0.1)
    fake.fail_next("create", 503, "The service is currently unavailable.", times=1000)
    tracked = await start(Submitter(tmp_path, backend))
    fake.faults.clear()
    tracked.runtime.unconfirmed_at = datetime.now(UTC) - timedelta(seconds=1)

    seen = await poll(backend, tracked)

    assert seen.state is Ours.FAILED
    assert seen.message.startswith(
        "Vertex AI did not create the job: UNAVAILABLE: The service is currently unavailable."
    )
    assert not fake.jobs


# ----- short outages -----


@pytest.mark.parametrize(
    "error",
    [(503, "The service is currently unavailable.", []), rate_limited()],
    ids=["unavailable", "rate-limited"],
)
async def test_a_new_job_waits_out_an_outage_shorter_than_retry_timeout(
    tmp_path, make_backend, vertex, error
):
    fake, _ = vertex
    # A round's look retries for 0.1 s only: starting a job retries for retry_timeout.
    backend = make_backend(retry_timeout=10.0, poll_retry_timeout=0.1)
    fake.outage(1.0, *error)

    tracked = await start(Submitter(tmp_path, backend))

    assert tracked.runtime.resource_name == fake.only().name
    assert fake.count("create") == 1


# ----- definite errors fast -----


@pytest.mark.parametrize("shape", ["error_info", "quota_failure", "message"])
async def test_a_used_up_quota_fails_the_start_at_once_naming_it_and_where_to_raise_it(
    tmp_path, make_backend, vertex, shape
):
    fake, _ = vertex
    backend = make_backend()
    fake.fail_next("create", *quota_exceeded(T4_QUOTA, shape=shape))
    job, folder = Submitter(tmp_path, backend).job()

    with pytest.raises(RuntimeError) as raised:
        await backend.start(job, folder, [])

    message = str(raised.value)
    assert message.startswith(
        "Vertex AI did not create the job: RESOURCE_EXHAUSTED: The following quota metrics "
        f"exceed quota limits: {T4_QUOTA}; the quota '{T4_QUOTA}' is used up"
    )
    assert (
        "https://console.cloud.google.com/iam-admin/quotas?project=test-project&metric="
        "aiplatform.googleapis.com%2Fcustom_model_training_nvidia_t4_gpus" in message
    )
    assert fake.count("create") == 1 and not fake.jobs


async def test_a_missing_permission_fails_at_once_naming_it_and_the_iam_page(
    tmp_path, make_backend, vertex
):
    fake, _ = vertex
    backend = make_backend()
    fake.fail_next("create", *permission_denied("aiplatform.customJobs.create"))
    job, folder = Submitter(tmp_path, backend).job()

    with pytest.raises(RuntimeError) as raised:
        await backend.start(job, folder, [])

    assert str(raised.value).endswith(
        "the credentials' account lacks the permission 'aiplatform.customJobs.create': grant "
        "it a role that has it at https://console.cloud.google.com/iam-admin/iam?project="
        "test-project (IAM & Admin > IAM)"
    )
    assert fake.count("create") == 1


async def test_a_job_queued_at_vertex_says_it_may_be_waiting_for_quota(
    tmp_path, make_backend, vertex
):
    fake, _ = vertex
    backend = make_backend()
    tracked = await start(Submitter(tmp_path, backend))
    fake.set_state(fake.only().name, JobState.JOB_STATE_QUEUED)

    seen = await poll(backend, tracked)

    assert seen.state is None
    assert seen.backend_state == "JOB_STATE_QUEUED"
    assert "lacks remaining custom-training quota" in (seen.state_message or "")
    assert "iam-admin/quotas?project=test-project" in (seen.state_message or "")


# ----- set-up in one go -----


def service_account_file(path: Path, project: str) -> None:
    """A service account key as the console gives it (a fresh RSA key: nothing is signed)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": project,
                "private_key_id": "0123456789abcdef",
                "private_key": pem,
                "client_email": f"trainer@{project}.iam.gserviceaccount.com",
                "client_id": "1234567890",
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        )
    )


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where GOOGLE_APPLICATION_CREDENTIALS points, with no file there yet."""
    path = tmp_path / "key.json"
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    monkeypatch.delenv("GCLOUD_PROJECT", raising=False)
    return path


def test_with_nothing_configured_every_missing_setting_is_listed_at_once(key_file):
    status = VertexBackend(location="").status()

    assert not status.configured
    assert [m["setting"] for m in status.missing] == [
        "VertexBackend.staging_bucket",
        "VertexBackend.location",
        "credentials",
        "VertexBackend.project",
    ]
    assert all("c.VertexBackend." in m["message"] for m in status.missing if "." in m["setting"])
    assert "gcloud auth application-default login" in status.missing[2]["message"]


def test_credentials_made_after_the_first_look_are_found_without_a_restart(key_file):
    backend = VertexBackend(staging_bucket=f"gs://{BUCKET}")
    before = backend.status()

    service_account_file(key_file, "key-project")
    after = backend.status()

    assert [m["setting"] for m in before.missing] == ["credentials", "VertexBackend.project"]
    assert after.configured, after.missing
    assert after.settings["project"] == "key-project"
