"""What each backend can do is declared, served, and explained where it cannot."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from jupyter_mlp.backends.capabilities import Capabilities
from jupyter_mlp.backends.vertex import VertexBackend
from jupyter_mlp.core.models import JobKind


async def test_every_backend_says_what_it_can_do_and_why_not(api):
    code, answer = await api.call("GET", "backends")
    assert code == 200
    declared = {b["name"]: b["capabilities"] for b in answer["backends"]}
    assert declared["local"]["sweeps"] == "trials" and not declared["local"]["remote"]
    assert declared["vertex"]["kinds"] == ["train"] and declared["vertex"]["sweeps"] == "native"
    assert declared["dataflow"]["drain"] and declared["dataflow"]["progress"]
    assert "Vertex AI" in declared["dataflow"]["unsupported"]["train"]
    outputs = {b["name"]: b["outputs"] for b in answer["backends"]}
    assert outputs["vertex"] == "the staging bucket, once it is set"  # none set on this server
    assert outputs["dataflow"].startswith("Where the pipeline's arguments say")
    for capabilities in declared.values():
        lacking = {k for k in ("sweeps", "drain", "progress", "priced", "schedules")}
        lacking = {k for k in lacking if not capabilities[k]}
        lacking |= {"train", "etl"} - set(capabilities["kinds"])
        assert set(capabilities["unsupported"]) == lacking
        assert all(capabilities["unsupported"].values())


def test_a_vertex_jobs_outputs_are_said_to_go_under_the_staging_bucket():
    backend = VertexBackend(staging_bucket="gs://team-bucket/ml/")
    assert backend.outputs_location() == "gs://team-bucket/ml/mlp/<job id>/ (model in model/)"


def test_a_backend_that_lacks_an_ability_must_say_why():
    with pytest.raises(ValidationError, match="say why it lacks: drain, etl"):
        Capabilities(
            kinds=(JobKind.TRAIN,),
            remote=True,
            resource_fields=(),
            sweeps="native",
            drain=False,
            progress=True,
            priced=True,
            schedules=True,
            job_id_label="Backend id",
            service="a cloud",
        )
