"""Thin REST handlers under /mlp: parse, call the JobManager, shape the answer."""

from __future__ import annotations

import asyncio
import json
import re
from typing import TYPE_CHECKING, Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..core.log_view import readable
from ..core.models import (
    MAX_JSON_DEPTH,
    Job,
    JobKind,
    JobState,
    MLPError,
    json_too_deep,
    parse_states,
)
from ..core.schedule_models import Schedule

if TYPE_CHECKING:
    from ..core.manager import JobManager

AUTH_RESOURCE = "mlp"
LIST_LIMIT_MAX = 500
# Request bodies larger than this are refused before they are read in full or parsed; a spec
# is far smaller (see models.MAX_SPEC_BYTES), the rest belongs in files.
MAX_BODY_BYTES = 2 * 2**20
#: Cursors are rows' sequence numbers, which SQLite stores as signed 64-bit integers.
MAX_CURSOR = 2**63 - 1
#: Longest `name` and `search` filter: SQLite refuses LIKE patterns over 50,000 bytes, and no
#: job name comes near this (a spec's name is at most 128 characters, a file stem 255 bytes).
MAX_FILTER_CHARS = 1000
#: Most bytes one log read (`limit`, `tail`) asks for.
MAX_READ_BYTES = 2**31


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in word)


_STATE_WORD = "(?:" + "|".join(_any_case(state.value) for state in JobState) + ")"
#: `?state=`: state words in any case, separated by commas, with spaces around them; the same
#: pattern is the OpenAPI document's, so the document says exactly what is accepted.
STATES_PATTERN = rf"^ *{_STATE_WORD}? *(?:, *{_STATE_WORD}? *)*$"
#: `?drain=` of a cancel: true or false in any case, 1 or 0; empty is false.
DRAIN_PATTERN = f"^(?:{_any_case('true')}|{_any_case('false')}|1|0)?$"


def job_json(job: Job) -> dict[str, Any]:
    return job.model_dump(mode="json")


@web.stream_request_body
class MLPHandler(APIHandler):
    """Base: JSON errors `{message, errors}`; a caller's mistake is a 4xx, never a 500.

    Bodies are streamed in and capped at MAX_BODY_BYTES, so a huge body is refused early
    instead of being buffered and echoed."""

    auth_resource = AUTH_RESOURCE
    _body: bytearray
    _body_too_large = False

    async def prepare(self) -> None:  # type: ignore[override]
        self._body = bytearray()
        declared = self.request.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            self._body_too_large = True
            self.request.connection.set_max_body_size(int(declared))  # type: ignore[union-attr]
        await super().prepare()
        if self._body_too_large:
            raise MLPError(413, _too_large(int(declared or 0)))
        ready = self.settings["mlp_ready"]
        if not ready.done():  # the server has just started: the job manager is being built
            self.settings["mlp_build"]()
            await asyncio.wait([asyncio.wrap_future(ready)])
        if ready.exception() is not None:
            raise MLPError(503, f"jupyter-mlp could not start: {ready.exception()}")

    def data_received(self, chunk: bytes) -> None:
        if self._body_too_large:
            return  # already answered; drop the rest as it comes
        self._body.extend(chunk)
        if len(self._body) > MAX_BODY_BYTES:
            self._body_too_large = True
            self._body = bytearray()

    @property
    def manager(self) -> JobManager:
        return self.settings["mlp_ready"].result()  # type: ignore[no-any-return]  # see prepare

    def write_json(self, payload: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(payload))

    def body_json(self) -> dict[str, Any]:
        if self._body_too_large:
            raise MLPError(413, _too_large(None))
        too_deep = f"the request body nests arrays and objects over {MAX_JSON_DEPTH} levels deep"
        try:
            body = json.loads(bytes(self._body) or b"{}")
        except RecursionError:  # deeper than Python's own stack allows
            raise MLPError(400, f"{too_deep}; a job spec needs a few") from None
        except ValueError as exc:
            raise MLPError(400, f"the request body is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise MLPError(400, "the request body must be a JSON object")
        where = json_too_deep(body)
        if where is not None:
            raise MLPError.invalid(where or "body", f"{too_deep}; a job spec needs a few")
        return body

    def query_int(self, name: str, default: int | None, low: int, high: int) -> int | None:
        """An integer query argument between `low` and `high`; absent or empty: `default`.
        Plain decimal digits only: Python's int() also takes '1_000', ' 7' and other
        scripts' digits, which the OpenAPI document's integers do not."""
        raw = self.get_query_argument(name, None, strip=False)
        if raw is None or raw == "":
            return default
        if not re.fullmatch(r"-?[0-9]+", raw):
            raise MLPError.invalid(name, f"'{raw[:40]}' is not an integer; give digits only")
        value = int(raw)
        if not low <= value <= high:
            shown = raw if len(raw) <= 40 else f"{raw[:20]}...({len(raw)} digits)"
            raise MLPError.invalid(
                name, f"{shown} is out of range; must be between {low} and {high}"
            )
        return value

    def query_text(self, name: str, most: int = MAX_FILTER_CHARS) -> str | None:
        """A text query argument of at most `most` characters; absent or empty: None."""
        value = self.get_query_argument(name, None, strip=False) or None
        if value is not None and len(value) > most:
            raise MLPError.invalid(
                name, f"{len(value)} characters is over the limit of {most}; give a shorter text"
            )
        return value

    def query_flag(self, name: str) -> bool:
        """A true-or-false query argument (true or false in any case, 1 or 0); absent: false."""
        asked = self.get_query_argument(name, None, strip=False)
        if asked is None:
            return False
        if not re.fullmatch(DRAIN_PATTERN, asked):
            raise MLPError.invalid(name, f"'{asked[:40]}' is not true or false (or 1, 0)")
        return asked.lower() in ("true", "1")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if not self.request._body_future.done():
            # Refused before the body was read: tornado closes the connection after this
            # answer (the only way not to read the body), so a client must not reuse it.
            self.set_header("Connection", "close")
        if status_code == 405:
            self.set_header("Allow", ", ".join(self.allowed_methods()))
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, MLPError):
            self.set_status(exc.status)
            payload = {"message": exc.message, "errors": [e.model_dump() for e in exc.errors]}
        else:
            message = getattr(exc, "log_message", None) or self._reason
            payload = {"message": message, "errors": []}
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(payload))

    @classmethod
    def allowed_methods(cls) -> list[str]:
        """The HTTP methods this handler answers (for the `Allow` header of a 405)."""
        return [m for m in cls.SUPPORTED_METHODS if _implements(cls, m.lower())]

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, MLPError):  # the caller's mistake: one line, no traceback
            self.log.info(
                "jupyter-mlp: %s %s -> %s %s",
                self.request.method,
                self.request.path,
                value.status,
                value.message,
            )
            return
        super().log_exception(typ, value, tb)


class JobsHandler(MLPHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        state_texts = self.get_query_arguments("state", strip=False)
        for text in state_texts:
            if not re.fullmatch(STATES_PATTERN, text):
                parse_states([text])  # names the unknown word
                raise MLPError.invalid(
                    "state", f"'{text[:40]}' is not a list of states; separate them with commas"
                )
        states = parse_states(state_texts)
        kind = self.get_query_argument("kind", None, strip=False) or None
        if kind is not None and kind not in {k.value for k in JobKind}:
            raise MLPError.invalid("kind", f"unknown kind '{kind[:40]}'; one of: train, etl")
        limit = self.query_int("limit", 50, 1, LIST_LIMIT_MAX)
        cursor = self.query_int("cursor", None, 1, MAX_CURSOR)
        jobs, next_cursor = await self.manager.list_jobs(
            states=states,
            backend=self.get_query_argument("backend", None) or None,
            kind=kind,
            name_prefix=self.query_text("name"),
            search=self.query_text("search"),
            limit=limit or 50,
            cursor=cursor,
            sweep_id=self.get_query_argument("sweep_id", None) or None,
            schedule_id=self.get_query_argument("schedule_id", None) or None,
        )
        # The jobs come as JSON text, written by the database: joined, not encoded again.
        following = json.dumps(None if next_cursor is None else str(next_cursor))
        self.set_header("Content-Type", "application/json")
        self.finish(f'{{"jobs":[{",".join(jobs)}],"next":{following}}}')

    @web.authenticated
    @authorized
    async def post(self) -> None:
        rerun_of = self.get_query_argument("rerun_of", None, strip=False) or None
        job = await self.manager.submit(self.body_json(), rerun_of=rerun_of)
        self.set_header("Location", self.base_url.rstrip("/") + f"/mlp/jobs/{job.id}")
        self.write_json(job_json(job), status=201)


class JobHandler(MLPHandler):
    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        self.write_json(job_json(await self.manager.get(job_id)))

    @web.authenticated
    @authorized
    async def delete(self, job_id: str) -> None:
        await self.manager.delete(job_id)
        self.set_status(204)
        self.finish()


class JobCancelHandler(MLPHandler):
    @web.authenticated
    @authorized
    async def post(self, job_id: str) -> None:
        # `drain` as a query argument (?drain=true) or in the body ({"drain": true}); the
        # query's wins, but a body is checked either way.
        drain = self.body_json().get("drain", False)
        if not isinstance(drain, bool):
            raise MLPError.invalid("drain", f"{json.dumps(drain)[:40]} is not true or false")
        asked = self.get_query_argument("drain", None, strip=False)
        if asked is not None:
            if not re.fullmatch(DRAIN_PATTERN, asked):
                raise MLPError.invalid("drain", f"'{asked[:40]}' is not true or false (or 1, 0)")
            drain = asked.lower() in ("true", "1")
        cancelled = await (self.manager.drain(job_id) if drain else self.manager.cancel(job_id))
        self.write_json(job_json(cancelled))


class JobRerunHandler(MLPHandler):
    @web.authenticated
    @authorized
    async def post(self, job_id: str) -> None:
        self.write_json(job_json(await self.manager.rerun(job_id)), status=201)


class JobLogsHandler(MLPHandler):
    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        # `offset` is the byte cursor of local logs, kept for the clients written before cursors.
        # Both are checked, whichever is used: a bad argument is never silently ignored.
        offset = self.query_int("offset", None, 0, MAX_CURSOR)
        cursor = self.get_query_argument("cursor", None)
        if cursor is None and offset is not None:
            cursor = str(offset)
        limit = self.query_int("limit", None, 1, MAX_READ_BYTES)
        tail = self.query_int("tail", None, 1, MAX_READ_BYTES)
        debug = self.query_flag("debug")
        chunk = await self.manager.read_log(job_id, cursor=cursor, limit=limit, tail=tail)
        if not debug:  # the job's own output; `debug=true` keeps the machinery's lines too
            chunk["data"] = readable(chunk["data"])
        self.write_json(chunk)


class JobOutputsHandler(MLPHandler):
    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        self.write_json(await self.manager.list_outputs(job_id))


class JobProgressHandler(MLPHandler):
    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        self.write_json(await self.manager.progress(job_id))


class BackendsHandler(MLPHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        statuses = await self.manager.backend_statuses()
        self.write_json({"backends": [status.model_dump() for status in statuses]})


class CatalogHandler(MLPHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        backend = (
            self.get_query_argument("backend", None, strip=False) or self.manager.default_backend
        )
        region = self.get_query_argument("region", None) or None
        self.write_json(await self.manager.catalog(backend, region))


class ValidateHandler(MLPHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        asked = self._preflight_asked()
        checked = await self.manager.check_spec(self.body_json())
        spec = checked.spec
        # The price depends on the resources and region alone: the form shows it while other
        # fields (the source, a backend not yet installed) still have errors.
        priced = spec is not None and not any(
            e.blocking and (e.field == "region" or e.field.startswith("resources"))
            for e in checked.errors
        )
        answer: dict[str, Any] = {
            "valid": checked.valid,
            "errors": [e.model_dump() for e in checked.errors],
            "spec": spec.model_dump(mode="json", exclude_none=True) if spec else None,
            "estimate": self.manager.estimate(spec) if spec and priced else None,
        }
        # Looking at the cloud (credentials, APIs, permissions, quotas) only when asked: the
        # review step asks once, the form's checks as it is filled in do not.
        if asked:
            answer["preflight"] = await self.manager.preflight(spec) if spec else []
        self.write_json(answer)

    def _preflight_asked(self) -> bool:
        return self.query_flag("preflight")


class ConvertHandler(MLPHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        self.write_json(await self.manager.preview(self.body_json()))


def schedule_json(schedule: Schedule) -> dict[str, Any]:
    return schedule.model_dump(mode="json")


class SchedulesHandler(MLPHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        schedules = await self.manager.schedules.all()
        self.write_json({"schedules": [schedule_json(s) for s in schedules]})

    @web.authenticated
    @authorized
    async def post(self) -> None:
        schedule = await self.manager.schedules.create(self.body_json())
        self.set_header("Location", self.base_url.rstrip("/") + f"/mlp/schedules/{schedule.id}")
        self.write_json(schedule_json(schedule), status=201)


class ScheduleHandler(MLPHandler):
    @web.authenticated
    @authorized
    async def get(self, schedule_id: str) -> None:
        self.write_json(schedule_json(await self.manager.schedules.get(schedule_id)))

    @web.authenticated
    @authorized
    async def patch(self, schedule_id: str) -> None:
        edited = await self.manager.schedules.update(schedule_id, self.body_json())
        self.write_json(schedule_json(edited))

    @web.authenticated
    @authorized
    async def delete(self, schedule_id: str) -> None:
        await self.manager.schedules.delete(schedule_id)
        self.set_status(204)
        self.finish()


class ScheduleRunHandler(MLPHandler):
    @web.authenticated
    @authorized
    async def post(self, schedule_id: str) -> None:
        job = await self.manager.schedules.run_now(schedule_id)
        if job is None:  # the cloud fires it
            self.write_json({}, status=202)
        else:
            self.write_json({"job": job_json(job)}, status=201)


class ScheduleFiresHandler(MLPHandler):
    @web.authenticated
    @authorized
    async def get(self, schedule_id: str) -> None:
        limit = self.query_int("limit", 50, 1, LIST_LIMIT_MAX)
        fires = await self.manager.schedules.fires(schedule_id, limit or 50)
        self.write_json({"fires": [fire.model_dump(mode="json") for fire in fires]})


class OpenAPIHandler(MLPHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        from .openapi import openapi_document

        self.write_json(openapi_document())


class NotFoundHandler(MLPHandler):
    """Unknown paths under /mlp answer a JSON 404 naming the routes that exist."""

    @web.authenticated
    @authorized
    async def get(self, _path: str) -> None:
        raise MLPError(404, f"no such endpoint: {self.request.path}; see /mlp/openapi.json")

    post = put = delete = patch = get


def _implements(cls: type[MLPHandler], method: str) -> bool:
    own = getattr(cls, method, None)
    return own is not None and own is not getattr(web.RequestHandler, method, None)


def _too_large(size: int | None) -> str:
    got = f" ({size / 2**20:.1f} MB)" if size else ""
    return (
        f"the request body{got} is over the {MAX_BODY_BYTES // 2**20} MB limit; "
        "large inline code or data belongs in a file under the root dir"
    )


ID = r"(?P<job_id>[A-Za-z0-9_-]+)"
SCHEDULE_ID = r"(?P<schedule_id>[A-Za-z0-9_-]+)"

ROUTES: list[tuple[str, type[MLPHandler]]] = [
    (r"mlp/jobs/?", JobsHandler),
    (rf"mlp/jobs/{ID}/?", JobHandler),
    (rf"mlp/jobs/{ID}/cancel/?", JobCancelHandler),
    (rf"mlp/jobs/{ID}/rerun/?", JobRerunHandler),
    (rf"mlp/jobs/{ID}/logs/?", JobLogsHandler),
    (rf"mlp/jobs/{ID}/outputs/?", JobOutputsHandler),
    (rf"mlp/jobs/{ID}/progress/?", JobProgressHandler),
    (r"mlp/schedules/?", SchedulesHandler),
    (rf"mlp/schedules/{SCHEDULE_ID}/?", ScheduleHandler),
    (rf"mlp/schedules/{SCHEDULE_ID}/run/?", ScheduleRunHandler),
    (rf"mlp/schedules/{SCHEDULE_ID}/fires/?", ScheduleFiresHandler),
    (r"mlp/backends/?", BackendsHandler),
    (r"mlp/catalog/?", CatalogHandler),
    (r"mlp/validate/?", ValidateHandler),
    (r"mlp/convert/?", ConvertHandler),
    (r"mlp/openapi.json", OpenAPIHandler),
    (r"mlp/(?P<_path>.*)", NotFoundHandler),
]
