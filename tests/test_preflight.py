"""Preflight through a real Jupyter server: `POST /mlp/validate?preflight=true` answers what a
cloud launch needs, each check pass / fail / unknown, asked of stand-ins of Service Usage, Cloud
Quotas, Resource Manager, IAM and Cloud Storage's bucket IAM (`fake_google_apis.py`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_google_apis import FakeGoogleApis, FakeGoogleApisServer
from test_dataflow import dataflow_installed  # noqa: F401 (fixture)
from test_vertex import DEFAULT_IMAGE, vertex_installed  # noqa: F401 (fixture)
from tornado.httpclient import HTTPClientError

PROJECT = "test-project"
NUMBER = "123456789012"
BUCKET = "mlp-staging"
ACCOUNT = "trainer@test-project.iam.gserviceaccount.com"
AGENT = f"service-{NUMBER}@gcp-sa-aiplatform-cc.iam.gserviceaccount.com"
AIP = "aiplatform.googleapis.com"
T4 = "custom_model_training_nvidia_t4_gpus"
SPOT_T4 = "custom_model_training_preemptible_nvidia_t4_gpus"
CPUS = "custom_model_training_cpus"
SERVER_PERMISSIONS = {
    "storage.objects.create",
    "storage.objects.get",
    "storage.objects.list",
    "storage.buckets.getIamPolicy",
}
GPU_JOB = {
    "backend": "vertex",
    "kind": "train",
    "source": {"path": "train.py"},
    "resources": {
        "machine_type": "n1-standard-4",
        "accelerator_type": "NVIDIA_TESLA_T4",
        "accelerator_count": 1,
    },
    "scheduling": {"service_account": ACCOUNT},
}


def ready(fake: FakeGoogleApis) -> FakeGoogleApis:
    """A project where a GPU job of `ACCOUNT` can launch."""
    fake.quotas = {(AIP, T4): {"us-central1": 4, "": 0}, (AIP, CPUS): {"": 24}}
    fake.buckets = {
        BUCKET: [{"role": "roles/storage.objectAdmin", "members": [f"serviceAccount:{ACCOUNT}"]}]
    }
    fake.bucket_permissions = {BUCKET: set(SERVER_PERMISSIONS)}
    fake.service_accounts = {ACCOUNT}
    fake.may_act_as = {ACCOUNT}
    return fake


@pytest.fixture
def google() -> Iterator[FakeGoogleApis]:
    with FakeGoogleApisServer(ready(FakeGoogleApis(PROJECT, NUMBER))) as server:
        server.fake.endpoint = server.endpoint  # type: ignore[attr-defined]
        yield server.fake


def user_credentials(folder: Path, quota_project: str | None) -> Path:
    """gcloud's application-default file of a person's own credentials."""
    found: dict[str, Any] = {
        "type": "authorized_user",
        "client_id": "id.apps.googleusercontent.com",
        "client_secret": "secret",
        "refresh_token": "token",
    }
    if quota_project:
        found["quota_project_id"] = quota_project
    path = folder / "adc.json"
    path.write_text(json.dumps(found))
    return path


@pytest.fixture
def credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = user_credentials(tmp_path, PROJECT)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    return path


@pytest.fixture
def jp_server_config(
    tmp_path,
    google,
    credentials,
    monkeypatch,
    vertex_installed,  # noqa: F811
    dataflow_installed,  # noqa: F811
):
    endpoint = google.endpoint
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", endpoint)
    apis = {
        "serviceusage_endpoint": endpoint,
        "quotas_endpoint": endpoint,
        "iam_endpoint": endpoint,
        "resource_manager_endpoint": endpoint,
        "retry_initial_delay": 0.01,
        "retry_timeout": 0.1,
    }
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_mlp": True}},
        "MLPExtension": {"db_url": f"sqlite:///{tmp_path / 'state' / 'mlp.db'}"},
        "LocalBackend": {"gpu_ids": [], "warm_runners": 0},
        "VertexBackend": {
            "project": PROJECT,
            "staging_bucket": f"gs://{BUCKET}",
            "api_endpoint": endpoint,
            "logging_endpoint": endpoint,
            "default_image": DEFAULT_IMAGE,
            **apis,
        },
        "DataflowBackend": {
            "project": PROJECT,
            "temp_location": f"gs://{BUCKET}/tmp",
            "dataflow_endpoint": endpoint.replace("127.0.0.1", "localhost"),
            **apis,
        },
    }


@pytest.fixture
def source(jp_root_dir: Path) -> None:
    (jp_root_dir / "train.py").write_text("print('training')\n")
    (jp_root_dir / "pipeline.py").write_text("print('pipeline')\n")


async def preflight(jp_fetch: Any, spec: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The preflight checks of `spec`, by id."""
    response = await jp_fetch(
        "mlp", "validate", method="POST", body=json.dumps(spec), params={"preflight": "true"}
    )
    return {check["id"]: check for check in json.loads(response.body)["preflight"]}


def statuses(checks: dict[str, dict[str, str]]) -> dict[str, str]:
    return {check_id: check["status"] for check_id, check in checks.items()}


async def test_a_ready_project_passes_every_check(jp_fetch, google, source):
    checks = await preflight(jp_fetch, GPU_JOB)
    assert statuses(checks) == {
        "credentials": "pass",
        "api": "pass",
        "bucket-server": "pass",
        "bucket-identity": "pass",
        "act-as": "pass",
        "gpu-quota": "pass",
        "cpu-quota": "pass",
    }
    assert "within the limit 4" in checks["gpu-quota"]["detail"]
    assert "usage unknown" in checks["gpu-quota"]["detail"]
    assert "4 vCPUs" in checks["cpu-quota"]["detail"]


async def test_what_would_stop_the_launch_fails_with_its_fix(jp_fetch, google, source):
    google.enabled = set()
    google.quotas = {(AIP, T4): {"us-central1": 0}, (AIP, CPUS): {"us-central1": 2}}
    google.buckets = {BUCKET: []}
    google.bucket_permissions = {BUCKET: {"storage.buckets.getIamPolicy"}}
    google.may_act_as = set()
    checks = await preflight(jp_fetch, GPU_JOB)
    assert statuses(checks) == {
        "credentials": "pass",
        "api": "fail",
        "bucket-server": "fail",
        "bucket-identity": "fail",
        "act-as": "fail",
        "gpu-quota": "fail",
        "cpu-quota": "fail",
    }
    assert f"gcloud services enable {AIP} --project {PROJECT}" in checks["api"]["fix"]
    assert "storage.objects.create" in checks["bucket-server"]["detail"]
    assert f"--member=serviceAccount:{ACCOUNT}" in checks["bucket-identity"]["fix"]
    assert "roles/iam.serviceAccountUser" in checks["act-as"]["fix"]
    assert "asks more than the limit (0)" in checks["gpu-quota"]["detail"]
    assert "asks more than the limit (2)" in checks["cpu-quota"]["detail"]


async def test_a_missing_bucket_or_service_account_fails(jp_fetch, google, source):
    google.buckets, google.service_accounts = {}, set()
    checks = await preflight(jp_fetch, GPU_JOB)
    assert checks["bucket-server"]["status"] == "fail"
    assert "does not exist" in checks["bucket-server"]["detail"]
    assert checks["act-as"]["status"] == "fail"


async def test_where_the_server_may_not_look_the_check_is_unknown(jp_fetch, google, source):
    google.forbidden = {"serviceusage", "quotas", "iam", "resourcemanager"}
    google.bucket_permissions = {BUCKET: {"storage.objects.create"}}
    google.buckets = {BUCKET: []}
    checks = await preflight(jp_fetch, GPU_JOB)
    for check_id in ("api", "bucket-identity", "act-as", "gpu-quota", "cpu-quota"):
        assert checks[check_id]["status"] == "unknown", check_id
        assert "PERMISSION_DENIED" in checks[check_id]["detail"], check_id


async def test_an_api_not_enabled_for_looking_is_unknown(jp_fetch, google, source):
    google.disabled = {"quotas"}
    checks = await preflight(jp_fetch, GPU_JOB)
    assert checks["gpu-quota"]["status"] == "unknown"
    assert "not enabled" in checks["gpu-quota"]["detail"]


async def test_a_custom_role_is_unknown(jp_fetch, google, source):
    custom = f"projects/{PROJECT}/roles/writer"
    google.buckets = {BUCKET: [{"role": custom, "members": [f"serviceAccount:{ACCOUNT}"]}]}
    checks = await preflight(jp_fetch, GPU_JOB)
    assert checks["bucket-identity"]["status"] == "unknown"
    assert "custom role" in checks["bucket-identity"]["detail"]


async def test_unknowns_never_block_a_submit(jp_fetch, google, source):
    google.forbidden = {"serviceusage", "quotas", "iam", "resourcemanager", "storage"}
    checks = await preflight(jp_fetch, GPU_JOB)
    assert "unknown" in statuses(checks).values()
    response = await jp_fetch("mlp", "jobs", method="POST", body=json.dumps(GPU_JOB))
    assert response.code == 201


async def test_user_credentials_without_a_quota_project_say_how_to_set_one(
    jp_fetch, google, source, tmp_path, monkeypatch
):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(user_credentials(tmp_path, None)))
    checks = await preflight(jp_fetch, GPU_JOB)
    assert checks["credentials"]["status"] == "unknown"
    assert f"set-quota-project {PROJECT}" in checks["credentials"]["fix"]


async def test_no_credentials_fail(jp_fetch, google, source, tmp_path, monkeypatch):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "none.json"))
    checks = await preflight(jp_fetch, GPU_JOB)
    assert checks["credentials"]["status"] == "fail"
    assert "gcloud auth application-default login" in checks["credentials"]["fix"]


async def test_without_a_service_account_the_custom_code_agent_needs_the_bucket(
    jp_fetch, google, source
):
    google.buckets = {
        BUCKET: [{"role": "roles/storage.objectCreator", "members": [f"serviceAccount:{AGENT}"]}]
    }
    spec = {**GPU_JOB, "scheduling": {}}
    checks = await preflight(jp_fetch, spec)
    assert "act-as" not in checks
    assert checks["bucket-identity"]["status"] == "pass"
    assert AGENT in checks["bucket-identity"]["detail"]


async def test_a_project_role_grants_the_bucket(jp_fetch, google, source):
    google.buckets = {BUCKET: []}
    google.project_bindings = [{"role": "roles/editor", "members": [f"serviceAccount:{ACCOUNT}"]}]
    checks = await preflight(jp_fetch, GPU_JOB)
    assert checks["bucket-identity"]["status"] == "pass"


async def test_spot_counts_against_the_preemptible_quota(jp_fetch, google, source):
    google.quotas = {(AIP, T4): {"": 8}, (AIP, SPOT_T4): {"us-central1": 0}, (AIP, CPUS): {"": 8}}
    spec = {**GPU_JOB, "scheduling": {"service_account": ACCOUNT, "strategy": "spot"}}
    checks = await preflight(jp_fetch, spec)
    assert checks["gpu-quota"]["status"] == "fail"
    assert SPOT_T4 in checks["gpu-quota"]["detail"]
    # No CPU metric is known for Spot: said, not guessed.
    assert checks["cpu-quota"]["status"] == "unknown"


async def test_hardware_with_no_known_metric_is_unknown(jp_fetch, google, source):
    resources = {**GPU_JOB["resources"], "machine_type": "a3-highgpu-8g"}
    resources.update(accelerator_type="NVIDIA_H100_MEGA_80GB", accelerator_count=8)
    checks = await preflight(jp_fetch, {**GPU_JOB, "resources": resources})
    assert checks["gpu-quota"]["status"] == "unknown"
    assert "no quota metric is known" in checks["gpu-quota"]["detail"]


async def test_answers_are_kept_a_few_minutes(jp_fetch, google, source):
    first = await preflight(jp_fetch, GPU_JOB)
    asked = len(google.requests)
    google.enabled = set()
    assert await preflight(jp_fetch, GPU_JOB) == first
    assert len(google.requests) == asked


async def test_dataflow_checks_its_api_bucket_and_workers(jp_fetch, google, source):
    google.buckets = {BUCKET: []}
    worker = f"{NUMBER}-compute@developer.gserviceaccount.com"
    google.project_bindings = [{"role": "roles/editor", "members": [f"serviceAccount:{worker}"]}]
    spec = {"backend": "dataflow", "kind": "etl", "source": {"path": "pipeline.py"}}
    checks = await preflight(jp_fetch, spec)
    assert statuses(checks) == {
        "credentials": "pass",
        "api": "pass",
        "bucket-server": "pass",
        "bucket-identity": "pass",
    }
    assert worker in checks["bucket-identity"]["detail"]


async def test_local_jobs_have_no_preflight_and_it_is_only_run_when_asked(jp_fetch, source):
    spec = {"backend": "local", "kind": "train", "source": {"path": "train.py"}}
    assert await preflight(jp_fetch, spec) == {}
    response = await jp_fetch("mlp", "validate", method="POST", body=json.dumps(GPU_JOB))
    assert "preflight" not in json.loads(response.body)


async def test_a_preflight_flag_that_is_not_a_boolean_is_refused(jp_fetch, source):
    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch("mlp", "validate", method="POST", body="{}", params={"preflight": "maybe"})
    assert refused.value.code == 400
    assert "preflight" in refused.value.response.body.decode()
