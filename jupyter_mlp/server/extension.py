"""The Jupyter Server extension: configuration, wiring of the manager, handlers and events.

The job manager (the store, SQLAlchemy, the backends) is built in a thread after the server has
come up (BUILD_DELAY_SECONDS after its loop starts, or at the first request under /mlp if that
comes sooner), not while it starts: the server answers as soon as without the extension, and a
first /mlp request waits for the manager (a fraction of a second).

Once the manager runs, it fires the schedules run by the server (a kernel's or the command
line's own manager does not), and list prices are refreshed from Google's Cloud Billing Catalog
API when the stored ones are older than `refresh_prices_hours` (looked at hourly), in a thread,
and only with credentials (none needed for a loopback stand-in); a failure is logged, never
fatal.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_core.paths import jupyter_data_dir
from jupyter_events import EventLogger
from jupyter_server.extension.application import ExtensionApp
from jupyter_server.serverapp import ServerApp
from tornado.ioloop import IOLoop, PeriodicCallback
from traitlets import DottedObjectName, Float, Unicode, default
from traitlets.utils.importstring import import_item

from ..catalog.billing import DEFAULT_ENDPOINT
from ..catalog.refreshed import refreshed_path
from ..core.models import Job, JobState
from .handlers import ROUTES

if TYPE_CHECKING:
    from ..core.manager import JobManager, StateListener

# How long the server has its start to itself before the job manager is built.
BUILD_DELAY_SECONDS = 1.0
EVENT_SCHEMA_ID = "https://events.jupyter.org/jupyter_mlp/job_state/v1"
EVENT_SCHEMA = Path(__file__).parent / "events" / "job_state.yaml"
# How often the server looks whether its prices are due for a refresh.
PRICE_LOOK_SECONDS = 3600.0


def default_db_url() -> str:
    return f"sqlite:///{Path(jupyter_data_dir()) / 'mlp' / 'jobs.db'}"


class MLPExtension(ExtensionApp):
    """jupyter-mlp's server side. Backends take their own settings, e.g. `c.LocalBackend`."""

    name = "jupyter_mlp"
    load_other_extensions = True

    db_url = Unicode(
        config=True,
        help="SQLAlchemy URL of the job database. Default: a SQLite file in the Jupyter data dir.",
    )

    @default("db_url")
    def _default_db_url(self) -> str:
        return default_db_url()

    jobs_dir = Unicode(
        "mlp-jobs",
        config=True,
        help="Folder for each job's files (log, model, executed notebook); relative paths are "
        "under the server's root dir so the outputs open in JupyterLab.",
    )

    # Read when the server starts (with every setting), so it names no backend by importing
    # one: the manager resolves an empty value from the backends' capabilities.
    default_backend = Unicode(
        "",
        config=True,
        help="Backend of jobs that name none; empty: the one that runs jobs on this machine "
        "(local).",
    )

    poll_interval = Float(
        None,
        allow_none=True,
        config=True,
        help="Seconds between looks at running jobs, for every backend whose own "
        "`poll_interval` is not set (local: 0.5, cloud backends: longer).",
    )

    cancel_grace_seconds = Float(
        None,
        allow_none=True,
        config=True,
        help="Seconds a cancelled job may take to stop before it is stopped by force, for every "
        "backend whose own `cancel_grace_seconds` is not set (default 10).",
    )

    max_include_mb = Float(
        100.0, config=True, help="Most megabytes of files a job may include next to its source."
    )

    # An import path, not a class: importing the manager (SQLAlchemy...) waits for the build.
    manager_class = DottedObjectName(
        "jupyter_mlp.core.manager.JobManager",
        config=True,
        help="Import path of the JobManager class (a subclass, to customise).",
    )

    billing_endpoint = Unicode(
        DEFAULT_ENDPOINT,
        config=True,
        help="Cloud Billing API endpoint the list prices are refreshed from. A plain http:// "
        "loopback address (a local stand-in) is used without credentials.",
    )

    refresh_prices_hours = Float(
        24.0,
        config=True,
        help="Hours after which the list prices are read again from the Cloud Billing Catalog "
        "API (with the server's credentials; without any, never); 0: never. They are kept in "
        "<Jupyter data dir>/mlp/prices-refreshed.json, or where MLP_PRICES_FILE says.",
    )

    @property
    def server(self) -> ServerApp:
        assert self.serverapp is not None, "the extension is initialised by a ServerApp"
        return self.serverapp

    @property
    def events(self) -> EventLogger:
        assert self.server.event_logger is not None
        return self.server.event_logger

    def make_manager(self, root_dir: Path, on_change: StateListener | None = None) -> JobManager:
        """A JobManager with this extension's settings; also used without a server (magics, CLI)."""
        from ..backends import backend_classes
        from ..core.manager import JobManager
        from ..core.store import JobStore

        manager_class = import_item(self.manager_class)
        if not (isinstance(manager_class, type) and issubclass(manager_class, JobManager)):
            raise TypeError(f"MLPExtension.manager_class: {self.manager_class} is not a JobManager")
        root_dir = root_dir.resolve()
        jobs_dir = Path(os.path.expanduser(self.jobs_dir))
        return manager_class(  # type: ignore[no-any-return]
            JobStore(self.db_url),
            {name: cls(parent=self) for name, cls in backend_classes().items()},
            root_dir=root_dir,
            jobs_dir=jobs_dir if jobs_dir.is_absolute() else root_dir / jobs_dir,
            default_backend=self.default_backend or None,
            on_change=on_change,
            poll_interval=self.poll_interval,
            cancel_grace_seconds=self.cancel_grace_seconds,
            max_include_bytes=int(self.max_include_mb * 2**20),
            log=self.log,
        )

    def initialize_settings(self) -> None:
        self.events.register_event_schema(EVENT_SCHEMA)
        # Set on the server's loop once the manager watches its jobs (or failed to be built).
        self.ready: Future[JobManager] = Future()
        self.settings["mlp_ready"] = self.ready
        self.settings["mlp_build"] = self.build_manager
        self._building = self._stopped = False
        IOLoop.current().add_callback(
            lambda: asyncio.get_running_loop().call_later(BUILD_DELAY_SECONDS, self.build_manager)
        )

    def build_manager(self) -> None:
        """Build the manager in a thread (once; called on the server's loop) and start it on
        the loop. Jobs left running by an earlier server are reconciled in its first round."""
        if self._building or self._stopped:
            return
        self._building = True
        loop = asyncio.get_running_loop()
        root_dir = Path(os.path.expanduser(self.server.root_dir))

        def build() -> None:
            try:
                manager = self.make_manager(root_dir, on_change=self._emit_state)
            except Exception as exc:
                self.log.exception("jupyter-mlp: the job manager could not be built")
                loop.call_soon_threadsafe(self.ready.set_exception, exc)
                return
            loop.call_soon_threadsafe(self._started, manager)

        threading.Thread(target=build, name="jupyter-mlp-start", daemon=True).start()

    def _started(self, manager: JobManager) -> None:
        try:
            manager.start()
            manager.fire_schedules()
        except Exception as exc:
            self.log.exception("jupyter-mlp: the job manager could not start")
            self.ready.set_exception(exc)
            return
        self.ready.set_result(manager)
        if self.refresh_prices_hours > 0:
            self._price_looks = PeriodicCallback(
                lambda: self._refresh_prices_if_due(manager), PRICE_LOOK_SECONDS * 1000
            )
            self._price_looks.start()
            self._refresh_prices_if_due(manager)

    def _refresh_prices_if_due(self, manager: JobManager) -> None:
        """Refresh the list prices in a thread when the stored ones are older than
        `refresh_prices_hours` (or there are none), unless a refresh is under way."""
        if getattr(self, "_refreshing_prices", False):
            return
        try:
            age = time.time() - refreshed_path().stat().st_mtime
        except OSError:
            age = float("inf")
        if age < self.refresh_prices_hours * 3600:
            return
        self._refreshing_prices = True
        backends = list(manager.backends.values())
        threading.Thread(
            target=self._refresh_prices, args=(backends,), name="jupyter-mlp-prices", daemon=True
        ).start()

    def _refresh_prices(self, backends: list[Any]) -> None:
        from ..catalog import billing

        try:
            credentials = billing.credentials_for(self.billing_endpoint)
            regions = billing.configured_regions(backends)
            refresh = billing.refresh_prices(self.billing_endpoint, regions, credentials)
        except billing.NoCredentials as exc:
            self.log.debug("jupyter-mlp: list prices not refreshed: %s", exc)
        except Exception as exc:  # an outage or a refusal: the stored prices stay in use
            self.log.warning("jupyter-mlp: list prices not refreshed: %s", exc)
        else:
            self.log.info("jupyter-mlp: %s", refresh.text().replace("\n", "; "))
        finally:
            self._refreshing_prices = False

    def initialize_handlers(self) -> None:
        self.handlers.extend((rf"/{pattern}", handler) for pattern, handler in ROUTES)

    async def stop_extension(self) -> None:
        self._stopped = True
        if getattr(self, "_price_looks", None) is not None:
            self._price_looks.stop()
        if not getattr(self, "_building", False):
            return  # stopped before the server's loop ran: nothing was built
        try:
            manager = await asyncio.wrap_future(self.ready)
        except Exception:
            return  # never built: nothing runs
        await manager.stop()
        manager.store.close()

    def _emit_state(self, job: Job, previous: JobState | None) -> None:
        data: dict[str, Any] = {
            "job_id": job.id,
            "name": job.name,
            "kind": job.kind.value,
            "backend": job.backend,
            "state": job.state.value,
            "previous_state": previous.value if previous else None,
            "state_message": job.state_message,
        }
        self.events.emit(schema_id=EVENT_SCHEMA_ID, data=data)
