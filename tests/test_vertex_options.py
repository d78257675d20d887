"""Vertex AI's launch options: each reaches the `CustomJob` Vertex receives, in the form Vertex
takes (names completed by looking them up in Resource Manager and Compute Engine stand-ins), and
each that cannot work is refused before anything is staged, naming the field."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import clouds
import pytest
from clouds import BUCKET, DEFAULT_IMAGE, PROJECT
from fake_compute import FakeCompute, FakeComputeServer
from google.cloud.aiplatform_v1 import types
from test_vertex import vertex_installed, wait_at_vertex

from jupyter_mlp.backends.vertex import jobs as vertex_jobs
from jupyter_mlp.backends.vertex.backend import VertexBackend
from jupyter_mlp.core.models import FieldError, Job, JobSpec, JobState
from jupyter_mlp.jobfiles.bundle import plan_source

storage_emulator, storage = clouds.storage_emulator, clouds.storage
vertex, logs = clouds.vertex, clouds.logs
__all__ = ["vertex_installed"]  # a fixture, used by name

NUMBER = "123456789012"
ACCOUNT = f"trainer@{PROJECT}.iam.gserviceaccount.com"
KEY = f"projects/{PROJECT}/locations/us-central1/keyRings/ml/cryptoKeys/jobs"
A100 = {"machine_type": "a2-highgpu-1g", "accelerator_type": "A100", "accelerator_count": 1}
H100 = {"machine_type": "a3-highgpu-1g", "accelerator_type": "H100", "accelerator_count": 1}
H100_8 = {"machine_type": "a3-highgpu-8g", "accelerator_type": "H100", "accelerator_count": 8}


@pytest.fixture
def compute() -> Iterator[tuple[FakeCompute, str]]:
    with FakeComputeServer() as server:
        server.fake.add_project(PROJECT, NUMBER)
        server.fake.add_reservation(
            PROJECT, "us-central1-b", "trainers", "a2-highgpu-1g", {"nvidia-tesla-a100": 1}, 2
        )
        server.fake.add_reservation(
            PROJECT, "us-central1-c", "big", "a3-highgpu-8g", {"nvidia-h100-80gb": 8}
        )
        server.fake.add_reservation(PROJECT, "us-east1-b", "eastern", "a2-highgpu-1g")
        yield server.fake, server.endpoint


def settings(compute_endpoint: str, vertex_endpoint: str = "http://127.0.0.1:9") -> dict[str, Any]:
    return {
        "project": PROJECT,
        "staging_bucket": f"gs://{BUCKET}",
        "api_endpoint": vertex_endpoint,
        "resource_manager_endpoint": compute_endpoint,
        "compute_endpoint": compute_endpoint,
        "default_image": DEFAULT_IMAGE,
        "retry_initial_delay": 0.01,
        "retry_timeout": 2.0,
    }


@pytest.fixture
def backend(compute: tuple[FakeCompute, str], tmp_path: Path) -> VertexBackend:
    made = VertexBackend(**settings(compute[1]))
    made.bind(root_dir=tmp_path, wake=lambda: None)
    return made


def check(backend: VertexBackend, **fields: Any) -> tuple[JobSpec, list[FieldError]]:
    """What the server's check makes of a spec for Vertex: the normalised spec, every problem."""
    fields.setdefault("source", {"code": "print('training')"})
    fields.setdefault("resources", A100)
    spec, errors = backend.normalize(JobSpec.model_validate(fields))
    plan = plan_source(spec, backend.root_dir)
    return spec, errors + backend.validate(spec, plan)


def blocking(errors: list[FieldError]) -> dict[str, str]:
    return {e.field: e.message for e in errors if e.blocking}


def warnings(errors: list[FieldError]) -> dict[str, str]:
    return {e.field: e.message for e in errors if not e.blocking}


# ----- through a real Jupyter server: every option in the CustomJob -----


@pytest.fixture
def jp_server_config(tmp_path, vertex, logs, storage, vertex_installed, compute):
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_mlp": True}},
        "MLPExtension": {"db_url": f"sqlite:///{tmp_path / 'state' / 'mlp.db'}"},
        "LocalBackend": {"gpu_ids": [], "warm_runners": 0},
        "VertexBackend": {
            **settings(compute[1], vertex[1]),
            "logging_endpoint": logs[1],
            "log_settle_seconds": 0.0,
        },
    }


async def test_every_vertex_option_reaches_the_custom_job_in_vertexs_form(api, vertex):
    fake, _ = vertex
    flex = await api.submit(
        backend="vertex",
        source={"code": "print('fit')"},
        resources={
            **A100,
            "replica_count": 2,
            "boot_disk_type": "pd-standard",
            "boot_disk_size_gb": 200,
        },
        scheduling={
            "strategy": "flex_start",
            "max_wait_seconds": 7200,
            "timeout_seconds": 86400,
            "reservation": "trainers",
            "service_account": ACCOUNT,
            "restart_on_worker_restart": True,
        },
        network="vpc-main",
        encryption_key=KEY,
        tensorboard="4567",
        labels={"team": "ml"},
    )
    spot = await api.submit(
        backend="vertex",
        source={"code": "print('fit')"},
        resources={**H100, "boot_disk_type": "hyperdisk-balanced"},
        scheduling={"strategy": "spot", "reservation": "any"},
        psc_network_attachment="attach-1",
    )

    created = await wait_at_vertex(fake, flex["id"])
    chief, workers = created.job_spec.worker_pool_specs
    reserved = f"projects/{PROJECT}/zones/us-central1-b/reservations/trainers"
    for pool in (chief, workers):
        assert pool.machine_spec.machine_type == "a2-highgpu-1g"
        assert pool.machine_spec.accelerator_type == types.AcceleratorType.NVIDIA_TESLA_A100
        affinity = pool.machine_spec.reservation_affinity
        assert (
            affinity.reservation_affinity_type
            == types.ReservationAffinity.Type.SPECIFIC_RESERVATION
        )
        assert affinity.key == "compute.googleapis.com/reservation-name"
        assert list(affinity.values) == [reserved]
        assert (pool.disk_spec.boot_disk_type, pool.disk_spec.boot_disk_size_gb) == (
            "pd-standard",
            200,
        )
    scheduling = created.job_spec.scheduling
    assert scheduling.strategy == types.Scheduling.Strategy.FLEX_START
    assert scheduling.max_wait_duration.total_seconds() == 7200
    assert scheduling.timeout.total_seconds() == 86400
    assert scheduling.restart_job_on_worker_restart
    assert created.job_spec.service_account == ACCOUNT
    assert created.job_spec.network == f"projects/{NUMBER}/global/networks/vpc-main"
    assert (
        created.job_spec.tensorboard
        == f"projects/{PROJECT}/locations/us-central1/tensorboards/4567"
    )
    assert created.encryption_spec.kms_key_name == KEY
    assert created.labels["team"] == "ml"

    created = await wait_at_vertex(fake, spot["id"])
    (pool,) = created.job_spec.worker_pool_specs
    assert created.job_spec.scheduling.strategy == types.Scheduling.Strategy.SPOT
    assert not created.job_spec.scheduling.max_wait_duration
    assert pool.machine_spec.reservation_affinity.reservation_affinity_type == (
        types.ReservationAffinity.Type.ANY_RESERVATION
    )
    assert pool.disk_spec.boot_disk_type == "hyperdisk-balanced"
    assert created.job_spec.psc_interface_config.network_attachment == (
        f"projects/{PROJECT}/regions/us-central1/networkAttachments/attach-1"
    )
    assert not created.job_spec.network
    # The job keeps the names as completed: its detail and a rerun show what Vertex received.
    shown = await api.job(flex["id"])
    assert shown["spec"]["scheduling"]["reservation"] == reserved
    assert shown["spec"]["network"] == f"projects/{NUMBER}/global/networks/vpc-main"


async def test_an_option_that_cannot_work_is_a_400_naming_the_field_and_nothing_is_created(
    api, vertex
):
    fake, _ = vertex
    code, answer = await api.call(
        "POST",
        "jobs",
        body={
            "backend": "vertex",
            "source": {"code": "pass"},
            "resources": {
                "machine_type": "n1-standard-8",
                "accelerator_type": "T4",
                "accelerator_count": 1,
            },
            "scheduling": {"strategy": "flex_start"},
        },
    )

    assert code == 400
    (error,) = [e for e in answer["errors"] if e["field"] == "scheduling.strategy"]
    assert "L4, A100, H100, H200 or B200" in error["message"]
    assert "NVIDIA_TESLA_T4" in error["message"]
    assert fake.created() == []


# ----- Flex-start -----


def test_flex_start_waits_a_day_for_capacity_unless_told_otherwise(backend):
    spec, errors = check(backend, scheduling={"strategy": "flex_start"})
    assert blocking(errors) == {}
    now = datetime.now(UTC)
    job = Job(
        id="j1",
        name="fit",
        kind=spec.kind,
        backend="vertex",
        state=JobState.STARTING,
        spec=spec,
        created_at=now,
    )

    made = vertex_jobs.custom_job(job, "gs://b/p.tar.gz", DEFAULT_IMAGE, BUCKET, None)

    assert made.job_spec.scheduling.strategy == types.Scheduling.Strategy.FLEX_START
    assert made.job_spec.scheduling.max_wait_duration.total_seconds() == 24 * 3600


@pytest.mark.parametrize(
    ("resources", "asked"),
    [
        (
            {"machine_type": "n1-standard-8", "accelerator_type": "T4", "accelerator_count": 1},
            "asks for NVIDIA_TESLA_T4",
        ),
        ({"machine_type": "n1-standard-8"}, "asks for no GPU"),
    ],
)
def test_flex_start_is_refused_for_gpus_it_does_not_schedule(backend, resources, asked):
    _, errors = check(backend, resources=resources, scheduling={"strategy": "flex_start"})

    message = blocking(errors)["scheduling.strategy"]
    assert asked in message and "L4, A100, H100, H200 or B200" in message


def test_flex_start_is_refused_a_timeout_over_seven_days(backend):
    _, errors = check(
        backend, scheduling={"strategy": "flex_start", "timeout_seconds": 8 * 24 * 3600}
    )
    assert "at most 7 days" in blocking(errors)["scheduling.timeout_seconds"]


def test_a_timeout_over_seven_days_is_fine_without_flex_start(backend):
    _, errors = check(backend, scheduling={"timeout_seconds": 8 * 24 * 3600})
    assert blocking(errors) == {}


# ----- reservations -----


def test_a_reservation_named_bare_is_found_in_a_zone_of_the_jobs_region(backend):
    spec, errors = check(backend, scheduling={"reservation": "trainers"})

    assert blocking(errors) == {}
    assert (
        spec.scheduling.reservation
        == f"projects/{PROJECT}/zones/us-central1-b/reservations/trainers"
    )


def test_a_reservation_on_a_later_page_of_the_aggregated_list_is_found(backend, compute):
    compute[0].page_size = 1
    spec, errors = check(backend, resources=H100_8, scheduling={"reservation": "big"})
    assert blocking(errors) == {}
    assert spec.scheduling.reservation.endswith("/zones/us-central1-c/reservations/big")


def test_a_reservation_not_in_the_regions_zones_is_refused_naming_those_there(backend):
    _, errors = check(backend, scheduling={"reservation": "eastern"})

    message = blocking(errors)["scheduling.reservation"]
    assert "no reservation named eastern in the zones of us-central1" in message
    assert "big, trainers" in message


def test_a_full_reservation_name_that_does_not_exist_is_refused(backend):
    name = f"projects/{PROJECT}/zones/us-central1-a/reservations/gone"
    _, errors = check(backend, scheduling={"reservation": name})
    assert blocking(errors)["scheduling.reservation"] == f"reservation {name} does not exist"


def test_a_reservation_in_another_region_is_refused(backend):
    name = f"projects/{PROJECT}/zones/us-east1-b/reservations/eastern"
    _, errors = check(backend, scheduling={"reservation": name})
    assert "not in the job's region us-central1" in blocking(errors)["scheduling.reservation"]


def test_a_reservation_of_another_machine_says_what_it_holds_and_what_the_job_asks(backend):
    _, errors = check(backend, scheduling={"reservation": "big"})

    assert blocking(errors)["scheduling.reservation"].startswith(
        "reservation big holds a3-highgpu-8g with 8 NVIDIA_H100_80GB; the job asks for "
        "a2-highgpu-1g with 1 NVIDIA_TESLA_A100"
    )


def test_a_reservation_that_cannot_be_looked_up_is_a_warning_and_vertex_judges(backend, compute):
    compute[0].deny()
    spec, errors = check(backend, scheduling={"reservation": "trainers"})

    assert blocking(errors) == {}
    assert "PERMISSION_DENIED" in warnings(errors)["scheduling.reservation"]
    assert spec.scheduling.reservation == "trainers"


def test_look_ups_are_kept_a_while_as_the_form_checks_often(backend, compute):
    for _ in range(3):
        check(backend, scheduling={"reservation": "trainers"}, network="vpc-main")

    assert len(compute[0].calls) == 2  # the project's number, the reservations


# ----- disks -----


def test_hyperdisk_is_refused_on_a_machine_that_does_not_boot_from_it(backend):
    _, errors = check(
        backend, resources={"machine_type": "n1-standard-8", "boot_disk_type": "hyperdisk-balanced"}
    )
    message = blocking(errors)["resources.boot_disk_type"]
    assert message == "n1-standard-8 boots from pd-ssd or pd-standard, not hyperdisk-balanced"


def test_a3_ultra_boots_only_from_hyperdisk(backend):
    _, errors = check(
        backend, resources={"machine_type": "a3-ultragpu-8g", "boot_disk_type": "pd-ssd"}
    )
    assert "boots from hyperdisk-balanced" in blocking(errors)["resources.boot_disk_type"]


def test_a_boot_disk_smaller_than_vertex_takes_is_refused(backend):
    _, errors = check(backend, resources={**A100, "boot_disk_size_gb": 50})
    assert "100 to 64000 GB" in blocking(errors)["resources.boot_disk_size_gb"]


# ----- networks, keys, TensorBoard -----


def test_a_network_in_a_project_given_by_id_gets_the_projects_number(backend):
    spec, errors = check(backend, network=f"projects/{PROJECT}/global/networks/shared")
    assert blocking(errors) == {}
    assert spec.network == f"projects/{NUMBER}/global/networks/shared"


def test_a_network_whose_project_number_cannot_be_looked_up_is_a_warning(backend):
    spec, errors = check(backend, network="projects/other-project/global/networks/shared")

    assert blocking(errors) == {}
    assert "PERMISSION_DENIED" in warnings(errors)["network"]
    assert spec.network == "projects/other-project/global/networks/shared"


def test_a_network_and_a_psc_attachment_together_are_refused(backend):
    _, errors = check(backend, network="vpc-main", psc_network_attachment="attach-1")
    assert "not both" in blocking(errors)["psc_network_attachment"]


def test_a_cmek_key_in_another_region_is_refused_naming_the_jobs_region(backend):
    key = f"projects/{PROJECT}/locations/europe-west4/keyRings/ml/cryptoKeys/jobs"
    _, errors = check(backend, encryption_key=key)
    assert "the job runs in us-central1" in blocking(errors)["encryption_key"]


def test_a_cmek_key_must_be_a_full_key_name(backend):
    _, errors = check(backend, encryption_key="jobs")
    assert (
        "projects/P/locations/us-central1/keyRings/K/cryptoKeys/C"
        in blocking(errors)["encryption_key"]
    )


def test_a_tensorboard_in_another_region_is_refused(backend):
    board = f"projects/{PROJECT}/locations/europe-west4/tensorboards/12"
    _, errors = check(backend, tensorboard=board, scheduling={"service_account": ACCOUNT})
    assert "the job runs in us-central1" in blocking(errors)["tensorboard"]


def test_a_tensorboard_needs_a_service_account(backend):
    _, errors = check(backend, tensorboard="12")
    assert "service account" in blocking(errors)["tensorboard"]


def test_the_backends_service_account_serves_a_tensorboard(compute, tmp_path):
    made = VertexBackend(**settings(compute[1]), service_account=ACCOUNT)
    made.bind(root_dir=tmp_path, wake=lambda: None)
    _, errors = check(made, tensorboard="12")
    assert "tensorboard" not in blocking(errors)


def test_an_unreachable_compute_engine_does_not_block_a_reservation(compute, tmp_path):
    made = VertexBackend(**{**settings(compute[1]), "compute_endpoint": "http://127.0.0.1:9"})
    made.bind(root_dir=tmp_path, wake=lambda: None)
    spec, errors = check(made, scheduling={"reservation": "trainers"})

    assert blocking(errors) == {}
    assert "could not look up the reservations" in warnings(errors)["scheduling.reservation"]
    assert spec.scheduling.reservation == "trainers"


async def test_the_server_refuses_a_kind_or_an_option_the_backend_does_not_take(api):
    """A pipeline on Vertex AI, or Spot on this machine: a 400 naming the field and where it
    would run."""
    code, etl = await api.call(
        "POST", "jobs", body={"kind": "etl", "backend": "vertex", "source": {"code": "x"}}
    )
    assert code == 400
    assert {e["field"]: e["message"] for e in etl["errors"]}["kind"].startswith(
        "Vertex AI does not run etl jobs: Vertex AI custom training runs training code"
    )

    code, spot = await api.call(
        "POST",
        "jobs",
        body={"backend": "local", "source": {"code": "x"}, "scheduling": {"strategy": "spot"}},
    )
    assert code == 400
    message = {e["field"]: e["message"] for e in spot["errors"]}["scheduling.strategy"]
    assert "does not take this option" in message
    assert "vertex (Vertex AI) take it" in message
    code, jobs = await api.call("GET", "jobs")
    assert code == 200 and jobs["jobs"] == []
