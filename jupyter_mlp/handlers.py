"""Thin REST handlers under /mlp: parse, call the JobManager, shape the answer."""

from __future__ import annotations

import json
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from .manager import JobManager
from .models import Job, JobKind, JobState, MLPError
from .openapi import openapi_document

AUTH_RESOURCE = "mlp"
LIST_LIMIT_MAX = 500


def job_json(job: Job) -> dict[str, Any]:
    return job.model_dump(mode="json")


class MLPHandler(APIHandler):
    """Base: JSON errors `{message, errors}`; a caller's mistake is a 4xx, never a 500."""

    auth_resource = AUTH_RESOURCE

    @property
    def manager(self) -> JobManager:
        return self.settings["mlp_manager"]  # type: ignore[no-any-return]

    def write_json(self, payload: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(payload))

    def body_json(self) -> dict[str, Any]:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError as exc:
            raise MLPError(400, f"the request body is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise MLPError(400, "the request body must be a JSON object")
        return body

    def query_int(
        self, name: str, default: int | None, low: int, high: int | None = None
    ) -> int | None:
        raw = self.get_query_argument(name, None)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise MLPError.invalid(name, f"'{raw}' is not an integer") from None
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise MLPError.invalid(name, f"{value} is out of range; must be {bound}")
        return value

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, MLPError):
            self.set_status(exc.status)
            payload = {"message": exc.message, "errors": [e.model_dump() for e in exc.errors]}
        else:
            message = getattr(exc, "log_message", None) or self._reason
            payload = {"message": message, "errors": []}
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(payload))

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
        states = []
        for raw in filter(None, ",".join(self.get_query_arguments("state")).split(",")):
            try:
                states.append(JobState(raw.strip().upper()))
            except ValueError:
                valid = ", ".join(s.value for s in JobState)
                raise MLPError.invalid("state", f"unknown state '{raw}'; one of: {valid}") from None
        kind = self.get_query_argument("kind", None) or None
        if kind is not None and kind not in {k.value for k in JobKind}:
            raise MLPError.invalid("kind", f"unknown kind '{kind}'; one of: train, etl")
        limit = self.query_int("limit", 50, 1, LIST_LIMIT_MAX)
        cursor = self.query_int("cursor", None, 1)
        jobs, next_cursor = self.manager.list_jobs(
            states=states,
            backend=self.get_query_argument("backend", None) or None,
            kind=kind,
            name_prefix=self.get_query_argument("name", None) or None,
            search=self.get_query_argument("search", None) or None,
            limit=limit or 50,
            cursor=cursor,
        )
        self.write_json(
            {
                "jobs": [job_json(j) for j in jobs],
                "next": None if next_cursor is None else str(next_cursor),
            }
        )

    @web.authenticated
    @authorized
    async def post(self) -> None:
        job = await self.manager.submit(self.body_json())
        self.set_header("Location", self.base_url.rstrip("/") + f"/mlp/jobs/{job.id}")
        self.write_json(job_json(job), status=201)


class JobHandler(MLPHandler):
    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        self.write_json(job_json(self.manager.get(job_id)))

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
        self.write_json(job_json(await self.manager.cancel(job_id)))


class JobRerunHandler(MLPHandler):
    @web.authenticated
    @authorized
    async def post(self, job_id: str) -> None:
        self.write_json(job_json(await self.manager.rerun(job_id)), status=201)


class JobLogsHandler(MLPHandler):
    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        offset = self.query_int("offset", 0, 0)
        limit = self.query_int("limit", None, 1)
        tail = self.query_int("tail", None, 1)
        self.write_json(self.manager.read_log(job_id, offset=offset, limit=limit, tail=tail))


class JobOutputsHandler(MLPHandler):
    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        self.write_json(self.manager.list_outputs(job_id))


class BackendsHandler(MLPHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        statuses = []
        for name, backend in sorted(self.manager.backends.items()):
            status = backend.status()
            status.default = name == self.manager.default_backend
            statuses.append(status.model_dump())
        self.write_json({"backends": statuses})


class CatalogHandler(MLPHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        backend = self.get_query_argument("backend", None) or self.manager.default_backend
        region = self.get_query_argument("region", None) or None
        self.write_json(self.manager.catalog(backend, region))


class ValidateHandler(MLPHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        checked = self.manager.check_spec(self.body_json())
        spec = checked.spec
        # The price depends on the resources and region alone: the form shows it while other
        # fields (the source, a backend not yet installed) still have errors.
        priced = spec is not None and not any(
            e.field == "region" or e.field.startswith("resources") for e in checked.errors
        )
        self.write_json(
            {
                "valid": not checked.errors,
                "errors": [e.model_dump() for e in checked.errors],
                "spec": spec.model_dump(mode="json", exclude_none=True) if spec else None,
                "estimate": self.manager.estimate(spec) if spec and priced else None,
            }
        )


class ConvertHandler(MLPHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        self.write_json(self.manager.preview(self.body_json()))


class OpenAPIHandler(MLPHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json(openapi_document())


class NotFoundHandler(MLPHandler):
    """Unknown paths under /mlp answer a JSON 404 naming the routes that exist."""

    @web.authenticated
    @authorized
    async def get(self, _path: str) -> None:
        raise MLPError(404, f"no such endpoint: {self.request.path}; see /mlp/openapi.json")

    post = put = delete = patch = get


ID = r"(?P<job_id>[A-Za-z0-9_-]+)"

ROUTES: list[tuple[str, type[MLPHandler]]] = [
    (r"mlp/jobs/?", JobsHandler),
    (rf"mlp/jobs/{ID}/?", JobHandler),
    (rf"mlp/jobs/{ID}/cancel/?", JobCancelHandler),
    (rf"mlp/jobs/{ID}/rerun/?", JobRerunHandler),
    (rf"mlp/jobs/{ID}/logs/?", JobLogsHandler),
    (rf"mlp/jobs/{ID}/outputs/?", JobOutputsHandler),
    (r"mlp/backends/?", BackendsHandler),
    (r"mlp/catalog/?", CatalogHandler),
    (r"mlp/validate/?", ValidateHandler),
    (r"mlp/convert/?", ConvertHandler),
    (r"mlp/openapi.json", OpenAPIHandler),
    (r"mlp/(?P<_path>.*)", NotFoundHandler),
]
