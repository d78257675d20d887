"""The /mlp REST API: input errors, authentication, listing, logs and the OpenAPI document."""

from __future__ import annotations

import asyncio

import pytest
from openapi_schema_validator import OAS31Validator
from tornado.httpclient import AsyncHTTPClient

from jupyter_mlp.server.openapi import openapi_document


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"kind": "deploy", "source": {"code": "pass"}}, "kind", "'train' or 'etl'"),
        ({"source": {"path": "../outside.py"}}, "source.path", "outside the Jupyter root dir"),
        ({"source": {"path": "/etc/passwd"}}, "source.path", "relative to the Jupyter root dir"),
        ({"source": {"path": "missing.py"}}, "source.path", "no file 'missing.py'"),
        ({"source": {"path": "data.csv"}}, "source.path", "expected one of: .py"),
        ({"source": {}}, "source", "exactly one of 'path'"),
        (
            {"source": {"code": "pass"}, "resources": {"accelerator_count": -1}},
            "resources.accelerator_count",
            "greater than or equal to 0",
        ),
        (
            {"source": {"code": "pass"}, "resources": {"accelerator_count": 1}},
            "resources.accelerator_count",
            "this machine has 0",
        ),
        (
            {"source": {"code": "pass"}, "resources": {"acelerator_count": 1}},
            "resources.acelerator_count",
            "unknown field",
        ),
        ({"source": {"code": "pass"}, "backend": "kubernetes"}, "backend", "is not installed"),
        ({"source": {"code": "pass"}, "args": "--epochs 3"}, "args", "valid list"),
        (
            {"source": {"code": "pass"}, "environment": "/no/such/python"},
            "environment",
            "give the path of a Python interpreter",
        ),
        ({}, "source", "Field required"),
    ],
)
async def test_bad_job_specs_are_refused_naming_the_field(api, jp_root_dir, body, field, words):
    (jp_root_dir / "data.csv").write_text("a,b\n")
    code, answer = await api.call("POST", "jobs", body=body)

    assert code == 400, answer
    fields = {e["field"]: e["message"] for e in answer["errors"]}
    assert field in fields, answer
    assert words in fields[field] or words in answer["message"]
    # Nothing was stored for a refused submission.
    assert (await api.call("GET", "jobs"))[1]["jobs"] == []


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", ""])
async def test_a_body_that_is_not_a_json_object_is_a_400(api, raw):
    code, answer = await api.call("POST", "jobs", raw_body=raw or " ")
    assert code == 400
    assert "JSON" in answer["message"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"state": "DONE"}, "state"),
        ({"kind": "serve"}, "kind"),
        ({"cursor": "abc"}, "cursor"),
        ({"limit": "1_0"}, "limit"),
        ({"limit": " 10"}, "limit"),
        ({"state": "running;queued"}, "state"),
    ],
)
async def test_bad_list_parameters_are_a_400_naming_the_parameter(api, params, field):
    code, answer = await api.call("GET", "jobs", **params)
    assert code == 400
    assert answer["errors"][0]["field"] == field


async def test_a_cursor_past_the_largest_sequence_number_is_a_400_naming_its_range(api):
    code, answer = await api.call("GET", "jobs", cursor=2**63)
    assert code == 400, answer
    assert answer["errors"][0]["field"] == "cursor"
    assert "between 1 and 9223372036854775807" in answer["errors"][0]["message"]


@pytest.mark.parametrize("field", ["name", "search"])
async def test_a_name_filter_over_the_limit_is_a_400_naming_the_limit(api, field):
    # Over 50,000 characters, SQLite refused the LIKE pattern ("too complex"): a 500.
    code, answer = await api.call("GET", "jobs", **{field: "a" * 50_001})
    assert code == 400, answer
    assert answer["errors"][0] == {
        "field": field,
        "message": "50001 characters is over the limit of 1000; give a shorter text",
        "suggestions": [],
        "severity": "error",
    }


async def test_state_words_take_any_case_and_spaces_and_an_empty_kind_is_no_filter(api):
    await api.submit(source={"code": "pass"})
    code, page = await api.call("GET", "jobs", state=" queued , Running,,succeeded", kind="")
    assert code == 200, page


async def test_unknown_job_and_unknown_endpoint_are_404(api):
    code, answer = await api.call("GET", "jobs", "nosuchjob")
    assert code == 404 and "nosuchjob" in answer["message"]
    code, answer = await api.call("GET", "nothing-here")
    assert code == 404 and "openapi.json" in answer["message"]


async def test_calls_without_credentials_are_refused(jp_serverapp, jp_base_url, jp_http_port, api):
    client = AsyncHTTPClient()
    for method, path, body in [
        ("GET", "jobs", None),
        ("POST", "jobs", '{"source": {"code": "pass"}}'),
        ("GET", "backends", None),
    ]:
        response = await client.fetch(
            f"http://127.0.0.1:{jp_http_port}{jp_base_url}mlp/{path}",
            method=method,
            body=body,
            raise_error=False,
        )
        assert response.code == 403, (method, path, response.code)
    assert (await api.call("GET", "jobs"))[1]["jobs"] == []


async def test_listing_pages_newest_first_and_filters(api):
    ids = []
    for index in range(5):
        job = await api.submit(name=f"sweep-{index}", source={"code": "pass"})
        ids.append(job["id"])
    failing = await api.submit(name="other", kind="etl", source={"code": "raise SystemExit(1)"})
    for job_id in [*ids, failing["id"]]:
        await api.wait(job_id)

    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        code, page = await api.call("GET", "jobs", **params)
        assert code == 200 and len(page["jobs"]) <= 2
        seen.extend(j["id"] for j in page["jobs"])
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == [failing["id"], *reversed(ids)]

    by_name = (await api.call("GET", "jobs", name="sweep-"))[1]["jobs"]
    assert [j["id"] for j in by_name] == list(reversed(ids))
    failed = (await api.call("GET", "jobs", state="FAILED"))[1]["jobs"]
    assert [j["id"] for j in failed] == [failing["id"]]
    both = (await api.call("GET", "jobs", state="failed,succeeded"))[1]["jobs"]
    assert len(both) == 6
    etl = (await api.call("GET", "jobs", kind="etl"))[1]["jobs"]
    assert [j["name"] for j in etl] == ["other"]
    assert (await api.call("GET", "jobs", backend="vertex"))[1]["jobs"] == []


async def test_a_listed_job_is_the_fetched_job_without_its_code_parameters_and_history(
    api, jp_root_dir
):
    (jp_root_dir / "train.py").write_text("import sys\nprint(sys.argv[1:])\n")
    script = await api.submit(
        name="listed-script", source={"path": "train.py"}, args=["--epochs", "3"]
    )
    code = await api.submit(
        name="listed-code",
        source={"code": "print(lr)"},
        parameters={"lr": 0.1},
        labels={"team": "vision"},
    )
    for job in (script, code):
        assert (await api.wait(job["id"]))["state"] == "SUCCEEDED"

    listed = {j["id"]: j for j in (await api.call("GET", "jobs"))[1]["jobs"]}

    summaries = {
        script["id"]: {
            "kind": "train",
            "backend": "local",
            "name": "listed-script",
            "source": {"path": "train.py"},
            "resources": {"accelerator_count": 0, "replica_count": 1},
            "region": None,
            "labels": {},
        },
        code["id"]: {
            "kind": "train",
            "backend": "local",
            "name": "listed-code",
            "source": {"code": ""},
            "resources": {"accelerator_count": 0, "replica_count": 1},
            "region": None,
            "labels": {"team": "vision"},
        },
    }
    for job_id, summary in summaries.items():
        fetched = await api.job(job_id)
        assert fetched["transitions"] and fetched["spec"]["source"].get("path") != ""
        assert listed[job_id] == {**fetched, "spec": summary, "transitions": []}


async def test_a_page_asked_again_shows_what_another_process_wrote_meanwhile(api, tmp_path):
    # The server answers a repeated page from memory while the database is unchanged; a job
    # written by another process (the command line, a kernel) must still show at once.
    from datetime import UTC, datetime

    from jupyter_mlp.core.models import Job, JobSpec, JobState
    from jupyter_mlp.core.store import JobStore

    first = await api.submit(name="by-the-server", source={"code": "pass"})
    assert (await api.wait(first["id"]))["state"] == "SUCCEEDED"
    before = (await api.call("GET", "jobs"))[1]["jobs"]
    assert (await api.call("GET", "jobs"))[1]["jobs"] == before

    other = JobStore(f"sqlite:///{tmp_path / 'state' / 'mlp.db'}")
    try:
        other.add(
            Job(
                id="fromthecli",
                name="by-the-cli",
                kind="train",
                backend="local",
                state=JobState.CANCELLED,
                spec=JobSpec.model_validate({"source": {"code": "pass"}}),
                created_at=datetime.now(UTC),
            )
        )
        after = (await api.call("GET", "jobs"))[1]["jobs"]
        assert [j["name"] for j in after] == ["by-the-cli", "by-the-server"]
        other.delete("fromthecli")
        assert (await api.call("GET", "jobs"))[1]["jobs"] == before
    finally:
        other.close()


async def test_search_matches_any_part_of_the_name_in_any_case(api):
    for name in ("ResNet-sweep", "bert-finetune", "resnet-eval"):
        await api.submit(name=name, source={"code": "pass"})
    found = [j["name"] for j in (await api.call("GET", "jobs", search="RESNET"))[1]["jobs"]]
    assert found == ["resnet-eval", "ResNet-sweep"]
    assert (await api.call("GET", "jobs", search="%"))[1]["jobs"] == []


async def test_a_name_filter_with_wildcard_characters_matches_them_literally(api):
    await api.submit(name="a_b", source={"code": "pass"})
    await api.submit(name="axb", source={"code": "pass"})
    names = [j["name"] for j in (await api.call("GET", "jobs", name="a_"))[1]["jobs"]]
    assert names == ["a_b"]


async def test_logs_are_read_by_range_and_by_tail(api):
    job = await api.submit(source={"code": "for i in range(1000): print(f'line {i:04d}')"})
    await api.wait(job["id"])

    code, first = await api.call("GET", "jobs", job["id"], "logs", offset=0, limit=20)
    assert code == 200
    assert first["data"] == "line 0000\nline 0001\n"
    assert first["next_offset"] == 20 and first["size"] == 10_000
    assert first["complete"] is False

    _, second = await api.call(
        "GET", "jobs", job["id"], "logs", offset=first["next_offset"], limit=10
    )
    assert second["data"] == "line 0002\n"

    _, tail = await api.call("GET", "jobs", job["id"], "logs", tail=20)
    assert tail["data"] == "line 0998\nline 0999\n"
    assert tail["offset"] == 9_980 and tail["complete"] is True


async def test_log_ranges_never_split_a_character(api):
    job = await api.submit(source={"code": "print('é' * 10, end='')"})
    await api.wait(job["id"])
    text, offset = "", 0
    while True:
        _, chunk = await api.call("GET", "jobs", job["id"], "logs", offset=offset, limit=3)
        text += chunk["data"]
        if chunk["next_offset"] == offset:
            break
        offset = chunk["next_offset"]
    assert text == "é" * 10
    _, tail = await api.call("GET", "jobs", job["id"], "logs", tail=3)
    assert tail["data"] == "é"


async def test_responses_match_the_openapi_document(api):
    document = openapi_document()
    code, served = await api.call("GET", "openapi.json")
    assert code == 200 and served == document

    def check(schema_name: str, payload: object) -> None:
        schema = {
            "$ref": f"#/components/schemas/{schema_name}",
            "components": document["components"],
        }
        OAS31Validator(schema).validate(payload)

    job = await api.submit(name="documented", source={"code": "print(1)"}, labels={"team": "ml"})
    check("Job", job)
    check("Job", await api.wait(job["id"]))
    check("JobList", (await api.call("GET", "jobs"))[1])
    check("LogChunk", (await api.call("GET", "jobs", job["id"], "logs"))[1])
    check("BackendList", (await api.call("GET", "backends"))[1])
    check("OutputList", (await api.call("GET", "jobs", job["id"], "outputs"))[1])
    check("ErrorBody", (await api.call("POST", "jobs", body={"kind": "x"}))[1])
    for path in [
        "/mlp/jobs",
        "/mlp/jobs/{job_id}",
        "/mlp/jobs/{job_id}/cancel",
        "/mlp/jobs/{job_id}/rerun",
        "/mlp/jobs/{job_id}/logs",
        "/mlp/backends",
    ]:
        assert path in document["paths"]


async def test_a_method_not_allowed_says_which_are(api, jp_fetch):
    for method in ("TRACE", "PUT"):
        response = await jp_fetch(
            "mlp",
            "jobs",
            method=method,
            raise_error=False,
            allow_nonstandard_methods=True,
            body=b"" if method == "PUT" else None,
        )
        assert response.code == 405
        assert response.headers["Allow"] == "GET, POST, OPTIONS", method


async def test_a_body_refused_before_it_is_read_closes_the_connection_saying_so(
    api, jp_base_url, jp_http_port, jp_auth_header
):
    # The server will not read a body over the limit: it answers, then closes the connection.
    # A client that was not told so sends its next request into a closed socket.
    reader, writer = await asyncio.open_connection("127.0.0.1", jp_http_port)
    headers = "".join(f"{k}: {v}\r\n" for k, v in jp_auth_header.items())
    writer.write(
        f"POST {jp_base_url}mlp/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}"
        f"Content-Type: application/json\r\nContent-Length: {3 * 2**20}\r\n\r\n".encode()
    )
    await writer.drain()
    head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)).decode()
    writer.close()
    assert head.startswith("HTTP/1.1 413"), head
    assert "\r\nConnection: close\r\n" in head, head


def _documented(path: str, name: str, value: str) -> bool:
    """Whether the OpenAPI document takes `value` for the query argument `name` of GET `path`
    (digits read as the integer a client would have written)."""
    document = openapi_document()
    operation = document["paths"][path]["get"]
    schema = next(p["schema"] for p in operation["parameters"] if p["name"] == name)
    typed: object = int(value) if value.isdigit() else value
    return bool(OAS31Validator({**schema, "components": document["components"]}).is_valid(typed))


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("jobs", {"cursor": "0"}),
        ("jobs", {"cursor": "1"}),
        ("jobs", {"cursor": ""}),
        ("jobs", {"cursor": "9223372036854775808"}),
        ("jobs", {"limit": "500"}),
        ("jobs", {"limit": "1_0"}),
        ("jobs", {"kind": ""}),
        ("jobs", {"kind": "etl"}),
        ("jobs", {"kind": "serve"}),
        ("jobs", {"state": "running, QUEUED,"}),
        ("jobs", {"state": "running;queued"}),
        ("jobs", {"name": "n" * 1000}),
        ("jobs", {"search": "n" * 1001}),
        ("catalog", {"backend": "vertex"}),
        ("catalog", {"backend": ""}),
        ("catalog", {"backend": "kubernetes"}),
    ],
)
async def test_a_query_is_accepted_exactly_when_the_openapi_document_says(api, path, params):
    code, answer = await api.call("GET", path, **params)
    [(name, value)] = params.items()
    assert code in (200, 400), answer
    assert (code == 200) == _documented(f"/mlp/{path}", name, value), (code, answer)


@pytest.mark.parametrize(
    ("source", "documented"),
    [({}, False), ({"path": "train.py", "code": "pass"}, False), ({"code": "pass"}, True)],
)
async def test_the_documented_spec_needs_exactly_one_source_as_the_server_does(
    api, source, documented
):
    document = openapi_document()
    schema = {"$ref": "#/components/schemas/JobSpec", "components": document["components"]}
    assert OAS31Validator(schema).is_valid({"source": source}) == documented
    code, answer = await api.call("POST", "validate", body={"source": source})
    assert code == 200 and answer["valid"] == documented, answer


@pytest.mark.parametrize(
    "params",
    [{"offset": "null", "cursor": ""}, {"offset": "-1"}, {"limit": "0", "cursor": "0"}],
)
async def test_a_bad_log_argument_is_a_400_even_next_to_a_cursor(api, params):
    job = await api.submit(source={"code": "print('hi')"})
    code, answer = await api.call("GET", "jobs", job["id"], "logs", **params)
    assert code == 400, answer
    assert answer["errors"][0]["field"] in params
