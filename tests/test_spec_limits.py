"""Specs that must be refused whichever way they come (REST, magics, CLI): a 400 that names the
field, never a 500 or a job that runs something else than its spec says."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jupyter_mlp.core.models import MAX_SPEC_BYTES, STORED, Job, JobSpec, JobSummary

CODE = {"code": "print('hi')"}


async def refused(api: Any, body: Any = None, raw_body: str | None = None) -> dict[str, str]:
    """POST the spec; it must be a 400 that stores nothing. Its errors by field."""
    code, answer = await api.call("POST", "jobs", body=body, raw_body=raw_body)
    assert code == 400, answer
    assert (await api.call("GET", "jobs"))[1]["jobs"] == []
    return {e["field"]: e["message"] for e in answer["errors"]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"source": {"path": "train\x00.py"}}, "source.path"),
        ({"source": CODE, "environment": "/usr/bin/python3\x00"}, "environment"),
        ({"source": CODE, "requirements": "requirements\x00.txt"}, "requirements"),
        ({"source": CODE, "requirements": ["numpy", "pandas\x00"]}, "requirements"),
        ({"source": {"path": "train.py", "include": ["*.py\x00"]}}, "source.include"),
        ({"source": CODE, "name": "run\x001"}, "name"),
        ({"source": CODE, "args": ["--epochs", "3\x00"]}, "args"),
        ({"source": {"code": "print(1)\x00"}}, "source.code"),
    ],
)
async def test_a_nul_character_is_refused_naming_the_field(api, write_script, body, field):
    write_script("train.py", "print('train')\n")
    errors = await refused(api, body)
    assert field in errors, errors
    assert "NUL" in errors[field]


@pytest.mark.parametrize("pattern", ["", ".", "./", "  "])
async def test_an_include_pattern_naming_the_folder_itself_is_refused(api, write_script, pattern):
    write_script("train.py", "print('train')\n")
    errors = await refused(api, {"source": {"path": "train.py", "include": [pattern]}})
    assert "the source's folder itself" in errors["source.include"]


@pytest.mark.parametrize(
    ("raw_parameters", "field", "words"),
    [
        ('{"lr": NaN}', "parameters.lr", "nan is not a JSON number"),
        ('{"lr": -Infinity}', "parameters.lr", "-inf is not a JSON number"),
        (
            '{"cfg": {"steps": [1, Infinity]}}',
            "parameters.cfg",
            "at steps[1]: inf is not a JSON number",
        ),
    ],
)
async def test_nan_and_infinity_parameters_are_refused(api, raw_parameters, field, words):
    # Python's JSON (and so a body a client wrote with it) carries NaN and Infinity.
    raw = '{"source": {"code": "print(lr)"}, "parameters": ' + raw_parameters + "}"
    errors = await refused(api, raw_body=raw)
    assert words in errors[field]


@pytest.mark.parametrize("name", ["x = 0; import os; y", "1st", "class", "lr ", "taux_é"])
async def test_a_parameter_name_must_be_a_python_name(api, name):
    errors = await refused(api, {"source": CODE, "parameters": {name: 1}})
    assert "is not a Python name" in errors[f"parameters.{name}"]


@pytest.mark.parametrize("environment", ["", "   "])
async def test_an_empty_environment_is_refused(api, environment):
    errors = await refused(api, {"source": CODE, "environment": environment})
    assert "is empty" in errors["environment"]


async def test_inline_code_over_the_limit_belongs_in_a_file(api):
    code = "x = 1\n" * (MAX_SPEC_BYTES // 6 + 100)
    errors = await refused(api, {"source": {"code": code}})
    assert errors["source.code"] == (
        f"inline code is {-(-len(code) // 1024)} KiB, over the 256 KiB limit; "
        "put it in a file and submit the file"
    )


async def test_a_spec_over_the_limit_names_its_largest_part(api):
    parameters = {f"p{i}": "v" * 1000 for i in range(300)}
    errors = await refused(api, {"source": CODE, "parameters": parameters})
    assert "over the 256 KiB limit; most of it is parameters" in errors["parameters"]


async def test_the_validate_endpoint_names_the_same_fields(api):
    body = {"source": {"path": "a\x00.py", "include": ["."]}, "parameters": {"a b": 1}}
    code, answer = await api.call("POST", "validate", body=body)
    fields = {e["field"] for e in answer.get("errors", [])}
    assert (code, fields) == (200, {"source.path", "source.include", "parameters.a b"}), answer


def test_a_stored_spec_stays_readable_under_rules_added_since():
    # Jobs accepted before a rule existed must still load (and rerun shows the same refusal).
    stored = {"source": {"code": "print(1)"}, "parameters": {"x = 0; y": 1}, "environment": ""}
    with pytest.raises(ValueError):
        JobSpec.model_validate(stored)
    assert JobSpec.model_validate(stored, context=STORED).parameters == {"x = 0; y": 1}


def test_a_summary_holds_what_the_list_shows_and_no_code():
    job = Job.model_validate(
        {
            "id": "abc",
            "name": "big",
            "kind": "train",
            "backend": "vertex",
            "state": "RUNNING",
            "created_at": "2026-01-01T00:00:00Z",
            "spec": {
                "source": {"code": "x = 1\n" * 1000},
                "resources": {"machine_type": "n1-standard-8", "accelerator_count": 2},
                "region": "us-central1",
                "labels": {"team": "vision"},
            },
        }
    )
    summary = JobSummary.from_job(job).model_dump(mode="json")
    assert "x = 1" not in json.dumps(summary)
    assert summary["source_path"] is None and summary["sweep_id"] is None
    assert summary["resources"] == {
        "machine_type": "n1-standard-8",
        "accelerator_type": None,
        "accelerator_count": 2,
        "replica_count": 1,
    }
    assert (summary["region"], summary["labels"]) == ("us-central1", {"team": "vision"})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"source": CODE, "labels": {"\ud800": "x"}}, "labels.\\ud800"),
        ({"source": CODE, "labels": {"team": "vision\udfff"}}, "labels.team"),
        ({"source": CODE, "parameters": {"cfg": {"\ud800": 1}}}, "parameters.cfg"),
        ({"source": CODE, "args": ["--tag=\ud83d"]}, "args"),
        (
            {"source": CODE, "scheduling": {"service_account": "sa\ud800"}},
            "scheduling.service_account",
        ),
    ],
)
async def test_a_lone_surrogate_is_refused_naming_the_field(api, body, field):
    # JSON's "\ud800" escape decodes to text that cannot be written as UTF-8: stored, it made
    # every later page of the job list invalid JSON.
    errors = await refused(api, body)
    assert "lone surrogate" in errors[field], errors


async def test_a_surrogate_pair_is_one_character_and_accepted(api):
    job = await api.submit(source=CODE, labels={"mood": "\ud83d\ude00"})
    assert job["spec"]["labels"] == {"mood": "😀"}
    code, page = await api.call("GET", "jobs")
    assert code == 200 and page["jobs"][0]["spec"]["labels"] == {"mood": "😀"}


SWEEP = {"metric": {"name": "acc"}, "algorithm": "grid", "max_trials": 2}
LONG = "x" * (128 * 1024)  # with `--name=` around it, over the kernel's 128 KiB per argument


@pytest.mark.parametrize(
    ("spec", "field", "words"),
    [
        ({"parameters": {"lr": "0.1\x00"}}, "parameters.lr", "NUL"),
        ({"parameters": {"cfg": {"paths": ["a", "b\x00"]}}}, "parameters.cfg", "NUL"),
        (
            {
                "sweep": {
                    **SWEEP,
                    "parameters": [{"name": "opt", "type": "categorical", "values": ["a\x00"]}],
                }
            },
            "sweep.parameters[0].values[0]",
            "NUL",
        ),
        ({"scheduling": {"service_account": "sa@p.iam\x00"}}, "scheduling.service_account", "NUL"),
        ({"args": ["--data", LONG]}, "args", "over the 128 KiB the kernel allows one argument"),
        ({"parameters": {"blob": LONG}}, "parameters.blob", "over the 128 KiB"),
        (
            {
                "sweep": {
                    **SWEEP,
                    "parameters": [{"name": "opt", "type": "categorical", "values": [LONG]}],
                }
            },
            "sweep.parameters[0].values[0]",
            "over the 128 KiB",
        ),
    ],
)
async def test_a_spec_that_could_never_run_is_refused_by_submit_and_validate(
    api, write_script, spec, field, words
):
    body = {"source": {"path": write_script("train.py", "print('train')\n")}, **spec}
    errors = await refused(api, body)
    assert words in errors[field], errors
    code, checked = await api.call("POST", "validate", body=body)
    assert code == 200 and not checked["valid"]
    assert words in {e["field"]: e["message"] for e in checked["errors"]}[field]


@pytest.mark.parametrize("path", [("jobs",), ("validate",), ("jobs", "any", "cancel")])
async def test_json_nested_a_thousand_levels_is_a_400_not_a_500(api, path):
    deep = '{"source": {"code": "pass"}, "parameters": {"p": ' + "[" * 1000 + "]" * 1000 + "}}"
    code, answer = await api.call("POST", *path, raw_body=deep)
    assert code == 400, answer
    assert "over 64 levels deep" in answer["message"]


async def test_json_nested_past_the_limit_names_where(api):
    deep = '{"source": {"code": "pass"}, "parameters": {"p": ' + "[" * 70 + "]" * 70 + "}}"
    errors = await refused(api, raw_body=deep)
    assert "over 64 levels deep" in errors["parameters.p" + "[0]" * 62], errors
