""" "Rerun as is" keeps everything: fully filled specs (tests/full_specs.py) submitted through a
real Jupyter server to the Vertex AI and Dataflow stand-ins and to this machine, then rerun
(`POST /mlp/jobs/{id}/rerun`), come back field for field: the first job keeps every field
asked for, and the rerun's spec is the first's."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import clouds
import pytest
from clouds import DEFAULT_IMAGE, PIPELINE, PROJECT
from full_specs import DATAFLOW_FULL, KMS_KEY, LOCAL_FULL, VERTEX_FLEX, VERTEX_RESERVED, VERTEX_SPOT
from test_dataflow import dataflow_installed  # noqa: F401 (a fixture)
from test_vertex import staging_bucket, vertex_installed  # noqa: F401 (fixtures)

from jupyter_mlp.core.models import JobSpec

pytestmark = pytest.mark.usefixtures("dataflow_installed", "vertex_installed")

# The stand-ins' fixtures, shared with the clouds' own suites.
storage_emulator, storage = clouds.storage_emulator, clouds.storage
vertex, logs, fake_dataflow = clouds.vertex, clouds.logs, clouds.dataflow_server


@pytest.fixture
def jp_server_config(tmp_path, vertex, logs, storage, staging_bucket, fake_dataflow):  # noqa: F811
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_mlp": True}},
        "MLPExtension": {
            "db_url": f"sqlite:///{tmp_path / 'state' / 'mlp.db'}",
            "poll_interval": 0.1,
            "cancel_grace_seconds": 3.0,
        },
        "LocalBackend": {"gpu_ids": [], "max_concurrent_jobs": 8, "warm_runners": 0},
        "VertexBackend": {
            "project": PROJECT,
            "staging_bucket": staging_bucket,
            "api_endpoint": vertex[1],
            "logging_endpoint": logs[1],
            "retry_initial_delay": 0.01,
            "retry_timeout": 2.0,
            "log_settle_seconds": 0.0,
            "default_image": DEFAULT_IMAGE,
            "log_read_interval": 0.0,
        },
        "DataflowBackend": {
            "project": PROJECT,
            "temp_location": str(tmp_path / "dataflow-temp"),
            "dataflow_endpoint": fake_dataflow.endpoint,
            "retry_initial_delay": 0.01,
            "retry_timeout": 2.0,
            "log_settle_seconds": 0.0,
            "log_read_interval": 0.0,
        },
    }


@pytest.fixture
def sources(jp_root_dir: Path) -> Path:
    """The files the full specs name, under the server's root dir."""
    (jp_root_dir / "utils").mkdir()
    (jp_root_dir / "utils" / "helpers.py").write_text("X = 1\n")
    (jp_root_dir / "train.py").write_text("print('training')\n")
    (jp_root_dir / "pipelines").mkdir()
    (jp_root_dir / "pipelines" / "clean.py").write_text(PIPELINE)
    (jp_root_dir / "pipelines" / "schema.json").write_text("{}")
    return jp_root_dir


def fields(value: Any, prefix: str = "") -> dict[str, Any]:
    """A spec (or part of one) as dotted field -> value, lists and values as leaves."""
    if not isinstance(value, dict) or prefix in ("parameters.", "labels."):
        return {prefix.rstrip("."): value}
    found: dict[str, Any] = {}
    for key, item in value.items():
        found.update(fields(item, f"{prefix}{key}."))
    return found


def fallback_fields(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec's fields, each fallback with its unset overrides as the server writes them."""
    normal = JobSpec.model_validate(spec).model_dump(mode="json")
    asked = fields(spec)
    return {field: value for field, value in fields(normal).items() if field in asked}


async def submitted_and_rerun(api: Any, spec: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    first = await api.submit(**spec)
    code, rerun = await api.call("POST", "jobs", first["id"], "rerun")
    assert code == 201, rerun
    return first, rerun


@pytest.mark.parametrize(
    "spec",
    [VERTEX_FLEX, VERTEX_SPOT, VERTEX_RESERVED, DATAFLOW_FULL, LOCAL_FULL],
    ids=["vertex flex-start", "vertex spot", "vertex reserved", "dataflow", "local"],
)
async def test_rerun_as_is_keeps_every_field_of_a_fully_filled_spec(api, sources, spec):
    first, rerun = await submitted_and_rerun(api, spec)

    kept = fields(first["spec"])
    assert {field: kept.get(field) for field in fallback_fields(spec)} == fallback_fields(spec)
    assert rerun["id"] != first["id"]
    assert rerun["spec"] == first["spec"]


async def test_a_rerun_dataflow_job_sends_beam_the_same_options(api, sources, fake_dataflow):
    first, rerun = await submitted_and_rerun(api, DATAFLOW_FULL)
    deadline = time.monotonic() + 60
    while len(fake_dataflow.fake.created()) < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.1)

    by_job = {job.labels["mlp-job-id"]: job for job in fake_dataflow.fake.created()}
    sent = [by_job[job["id"]].environment for job in (first, rerun)]
    assert [e.service_kms_key_name for e in sent] == [KMS_KEY, KMS_KEY]
    assert sent[1].service_options == sent[0].service_options
    assert "enable_prime" in sent[1].service_options
    assert [(p.network, p.disk_size_gb) for e in sent for p in e.worker_pools] == [
        ("data-vpc", 50),
        ("data-vpc", 50),
    ]
