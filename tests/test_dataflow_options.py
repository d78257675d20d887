"""Dataflow's own options, from the spec to the Job Dataflow receives: Beam's own
DataflowRunner submits a fully optioned pipeline to the Dataflow stand-in on 127.0.0.1, and
each option shows among the pipeline options Beam sends and in the job's environment."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from clouds import PIPELINE, PROJECT, dataflow_backend
from fake_dataflow import FakeDataflowServer
from full_specs import DATAFLOW_FULL, KMS_KEY, REGION
from google.cloud import dataflow_v1beta3 as dataflow
from test_dataflow import at_dataflow

from jupyter_mlp.backends.dataflow import options as dataflow_options
from jupyter_mlp.core.manager import JobManager
from jupyter_mlp.core.models import JobSpec, MLPError
from jupyter_mlp.core.store import JobStore


@pytest.fixture(scope="module")
def submitted(tmp_path_factory: pytest.TempPathFactory):
    """The fully optioned pipeline, submitted once through Beam: (our job, Dataflow's job,
    the pipeline options Beam sent)."""
    root = tmp_path_factory.mktemp("full")
    (root / "pipelines").mkdir()
    (root / "pipelines" / "clean.py").write_text(PIPELINE)
    (root / "pipelines" / "schema.json").write_text("{}")

    async def submit(server: FakeDataflowServer) -> tuple[Any, Any]:
        manager = JobManager(
            JobStore(f"sqlite:///{root / 'mlp.db'}"),
            {"dataflow": dataflow_backend(server.endpoint, root)},
            root_dir=root,
            jobs_dir=root / "jobs",
            default_backend="dataflow",
        )
        job = await manager.submit(DATAFLOW_FULL)
        made = await at_dataflow(server.fake, manager, job.id)
        await manager.stop()
        manager.store.close()
        return job, made

    with FakeDataflowServer() as server:
        job, _ = asyncio.run(submit(server))
        (received,) = server.fake.created()
        sent = json.loads(dataflow.Job.to_json(received))["environment"]["sdkPipelineOptions"]
        yield job, received, sent["options"]


def test_each_dataflow_option_is_among_the_pipeline_options_beam_sends(submitted):
    _, _, options = submitted

    assert options["num_workers"] == 2
    assert options["max_num_workers"] == 10
    assert options["disk_size_gb"] == 50
    assert options["network"] == "data-vpc"
    assert options["subnetwork"] == f"regions/{REGION}/subnetworks/data-subnet"
    assert options["use_public_ips"] is False
    assert options["dataflow_kms_key"] == KMS_KEY
    assert options["service_account_email"] == "pipelines@p.iam.gserviceaccount.com"
    assert options["flexrs_goal"] == "COST_OPTIMIZED"
    assert options["sdk_container_image"] == "apache/beam_python3.11_sdk:2.77.0"
    assert set(options["dataflow_service_options"]) >= {
        "enable_prime",
        "max_workflow_runtime_walltime_seconds=7200",
        "worker_accelerator=type:nvidia-tesla-t4;count:1;install-nvidia-driver",
    }


def test_the_job_dataflow_receives_has_its_workers_network_key_and_scheduling(submitted):
    job, received, _ = submitted
    pool = received.environment.worker_pools[0]

    assert received.name == f"clean-events-{job.id}"
    assert (pool.num_workers, pool.disk_size_gb) == (2, 50)
    assert (pool.network, pool.subnetwork) == (
        "data-vpc",
        f"regions/{REGION}/subnetworks/data-subnet",
    )
    assert pool.ip_configuration == dataflow.WorkerIPAddressConfiguration.WORKER_IP_PRIVATE
    assert received.environment.service_kms_key_name == KMS_KEY
    assert (
        received.environment.flex_resource_scheduling_goal
        == dataflow.FlexResourceSchedulingGoal.FLEXRS_COST_OPTIMIZED
    )
    assert "enable_prime" in received.environment.service_options


def test_prime_picks_its_workers_so_no_machine_type_is_sent_but_the_job_is_priced(submitted):
    job, _, options = submitted

    assert "machine_type" not in options and "worker_machine_type" not in options
    assert job.spec.resources.machine_type == "n1-standard-4"


# ----- options in the args -----


def normalized(tmp_path: Path, **spec: Any) -> JobSpec:
    backend = dataflow_backend("http://localhost:1", tmp_path)
    checked, errors = backend.normalize(
        JobSpec.model_validate({"kind": "etl", "source": {"code": "pass"}, **spec})
    )
    if errors:
        raise MLPError(400, "refused", errors=errors)
    return checked


def test_network_subnetwork_disk_and_key_in_the_args_fill_their_fields(tmp_path):
    args = [
        "--network=vpc",
        *("--subnetwork", "regions/europe-west4/subnetworks/s"),
        "--disk_size_gb=40",
        f"--dataflow_kms_key={KMS_KEY}",
    ]

    spec = normalized(tmp_path, args=args)
    options = dataflow_options.pipeline_args(
        spec, job_id="abc", target=dataflow_options.DataflowTarget(PROJECT, REGION, "gs://b/t")
    )

    assert (spec.dataflow.network, spec.dataflow.subnetwork) == (
        "vpc",
        "regions/europe-west4/subnetworks/s",
    )
    assert (spec.resources.boot_disk_size_gb, spec.encryption_key) == (40, KMS_KEY)
    assert not [
        o for o in options if o.startswith(("--network", "--subnetwork", "--disk", "--data"))
    ]


@pytest.mark.parametrize(
    ("arg", "field", "typed"),
    [
        ("--network=other", "dataflow.network", {"dataflow": {"network": "vpc"}}),
        (
            "--disk_size_gb=40",
            "resources.boot_disk_size_gb",
            {"resources": {"boot_disk_size_gb": 50}},
        ),
        ("--dataflow_kms_key=k2", "encryption_key", {"encryption_key": KMS_KEY}),
    ],
)
def test_an_option_in_the_args_that_disagrees_with_its_field_is_refused_naming_both(
    tmp_path, arg, field, typed
):
    with pytest.raises(MLPError) as refused:
        normalized(tmp_path, args=[arg], **typed)

    (error,) = refused.value.errors
    assert error.field == field
    assert arg in error.message and "give it in one place" in error.message


def test_a_disk_size_in_the_args_that_is_no_size_is_refused(tmp_path):
    with pytest.raises(MLPError) as refused:
        normalized(tmp_path, args=["--disk_size_gb=big"])

    assert "--disk_size_gb=big in args is not a disk size in GB" in refused.value.errors[0].message


def test_switches_and_the_longest_run_in_the_args_fill_their_fields(tmp_path):
    args = [
        "--no_use_public_ips",
        "--flexrs_goal=COST_OPTIMIZED",
        "--dataflow_service_options=enable_prime,max_workflow_runtime_walltime_seconds=600",
    ]

    spec = normalized(tmp_path, args=args)
    options = dataflow_options.pipeline_args(
        spec, job_id="abc", target=dataflow_options.DataflowTarget(PROJECT, REGION, "gs://b/t")
    )

    assert (spec.dataflow.no_public_ips, spec.dataflow.flexrs, spec.dataflow.prime) == (
        True,
        True,
        True,
    )
    assert spec.scheduling.timeout_seconds == 600
    assert [o for o in options if "public_ips" in o or "flexrs" in o or "service" in o] == []


@pytest.mark.parametrize(
    ("runtime", "typed", "field", "words"),
    [
        ("600", 900, "scheduling.timeout_seconds", "but scheduling.timeout_seconds is 900"),
        ("30", None, "args", "is not a timeout: Input should be greater than or equal to 60"),
        ("soon", None, "args", "is not a timeout"),
    ],
)
def test_a_longest_run_in_the_args_that_is_no_timeout_or_another_is_refused(
    tmp_path, runtime, typed, field, words
):
    args = [f"--dataflow_service_options=max_workflow_runtime_walltime_seconds={runtime}"]
    with pytest.raises(MLPError) as refused:
        normalized(tmp_path, args=args, scheduling={"timeout_seconds": typed})

    (error,) = refused.value.errors
    assert error.field == field
    assert words in error.message


def test_a_bare_subnetwork_name_is_the_job_regions(tmp_path):
    spec = normalized(tmp_path, region="europe-west4", dataflow={"subnetwork": "data-subnet"})
    options = dataflow_options.pipeline_args(
        spec, job_id="abc", target=dataflow_options.DataflowTarget(PROJECT, REGION, "gs://b/t")
    )

    assert "--subnetwork=regions/europe-west4/subnetworks/data-subnet" in options
    assert spec.dataflow.subnetwork == "data-subnet"  # the spec keeps what the person wrote


# ----- refused before anything is staged -----


def refusals(tmp_path: Path, **spec: Any) -> dict[str, str]:
    """What the backend's checks say of a pipeline with these fields, by field."""
    backend = dataflow_backend("http://localhost:1", tmp_path)
    checked = normalized(tmp_path, **spec)
    return {e.field: e.message for e in backend.validate(checked, None)}


def test_flexrs_on_a_streaming_pipeline_is_refused_naming_the_field(tmp_path):
    errors = refusals(tmp_path, args=["--streaming"], dataflow={"flexrs": True})

    assert "batch pipelines; this one is streaming" in errors["dataflow.flexrs"]


def test_a_kms_key_outside_the_jobs_region_is_refused_naming_the_region(tmp_path):
    errors = refusals(tmp_path, region="europe-west4", encryption_key=KMS_KEY)

    assert errors["encryption_key"] == (
        f"the key is in {REGION} but the job runs in europe-west4: Dataflow takes a key in "
        "the job's region (europe-west4)"
    )


@pytest.mark.parametrize("location", [REGION, "global", "us"])
def test_a_kms_key_of_the_jobs_region_global_or_its_multi_region_is_taken(tmp_path, location):
    key = f"projects/p/locations/{location}/keyRings/ring/cryptoKeys/key"

    assert "encryption_key" not in refusals(tmp_path, region=REGION, encryption_key=key)


def test_a_kms_key_that_is_no_key_name_is_refused_with_the_form(tmp_path):
    errors = refusals(tmp_path, region=REGION, encryption_key="my-key")

    assert f"projects/P/locations/{REGION}/keyRings/K/cryptoKeys/C" in errors["encryption_key"]


@pytest.mark.parametrize(
    ("subnetwork", "words"),
    [
        ("regions/europe-west4/subnetworks/s", "is in europe-west4 but the job runs in"),
        ("projects/p/global/networks/n", "is not a subnetwork: give regions/R/subnetworks/S"),
    ],
)
def test_a_subnetwork_in_another_region_or_form_is_refused(tmp_path, subnetwork, words):
    errors = refusals(tmp_path, region=REGION, dataflow={"subnetwork": subnetwork})

    assert words in errors["dataflow.subnetwork"]


@pytest.mark.parametrize(
    "subnetwork",
    [
        "data-subnet",
        f"regions/{REGION}/subnetworks/s",
        f"https://www.googleapis.com/compute/v1/projects/host/regions/{REGION}/subnetworks/s",
    ],
)
def test_dataflows_forms_of_a_subnetwork_are_taken(tmp_path, subnetwork):
    assert "dataflow.subnetwork" not in refusals(
        tmp_path, region=REGION, dataflow={"subnetwork": subnetwork}
    )


def test_a_network_that_is_a_subnetwork_path_is_refused(tmp_path):
    errors = refusals(tmp_path, dataflow={"network": f"regions/{REGION}/subnetworks/s"})

    assert "is not a VPC network: give its name" in errors["dataflow.network"]
