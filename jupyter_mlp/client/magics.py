"""The `%mlp_train` family of IPython magics (`%load_ext jupyter_mlp`).

Jobs go to the Jupyter server this kernel belongs to, so they show in its ML Jobs panel at
once; with no such server they go straight into the same job database (see `client.connect`).
"""

from __future__ import annotations

import argparse
import atexit
import inspect
import os
import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..core.models import Job, MLPError
from ..jobfiles.notebooks import JOB_MAGICS, PARAMETERS_MARK, PARAMETERS_TAG
from .connection import Client, ServerClient, ServerUnreachable, connect, describe_error
from .discovery import kernel_id_of, kernel_notebook
from .handle import JobFailed, JobHandle, JobList
from .schedules import CRON_HELP, WHEN_OPTIONS, check_no_when, created_text, schedule_body
from .submit_options import SUBMIT_OPTIONS, parse_params, spec_body

INCLUDE_TAG = "mlp-include"

CELL_JOB_HELP = """
What a cell job sees. It runs in a fresh Python process, not in this kernel, so it sees only:
  1. the saved cells of this notebook tagged `mlp-include` (imports, helper functions), in
     notebook order. The notebook is found through the Jupyter server this kernel belongs to
     and read from disk, so save it after changing those cells; `--include-cells-from PATH`
     names the notebook explicitly (and is the only way with no server);
  2. the `--param` values, assigned as Python variables like papermill does: right after an
     included cell tagged `parameters` when there is one, else at the very top;
  3. the cell itself (the lines after `%%mlp_train ...`).
Variables defined in this kernel are not there. Files next to the notebook are not shipped.
"""


def _submit_arguments(function: Callable[..., Any]) -> Callable[..., Any]:
    """The shared submit options (as in `jupyter mlp submit`), plus the source and the
    notebook to take `mlp-include` cells from."""
    function.__doc__ = inspect.cleandoc(function.__doc__ or "") + "\n" + CELL_JOB_HELP
    for option in reversed(SUBMIT_OPTIONS):
        function = argument(option.flag, **option.argparse_kwargs())(function)
    for when in reversed(WHEN_OPTIONS):
        function = argument(when.flag, **when.argparse_kwargs())(function)
    function = argument(
        "--schedule",
        metavar="CRON",
        help="Create a schedule that runs this job at these times instead of running it now. "
        + CRON_HELP,
    )(function)
    function = argument(
        "--include-cells-from",
        metavar="NOTEBOOK",
        help="For cell jobs: the notebook whose cells tagged mlp-include are prepended "
        "(default: this kernel's notebook, when its Jupyter server is found).",
    )(function)
    function = argument(
        "source",
        nargs="?",
        help="Line magic: the .py or .ipynb file to run (relative to the working dir).",
    )(function)
    return magic_arguments()(function)


@magics_class
class MLPMagics(Magics):
    """`%mlp_train`, `%mlp_etl`, `%mlp_jobs`, `%mlp_logs`, `%mlp_cancel`."""

    def __init__(self, shell: Any = None, client: Client | None = None):
        super().__init__(shell)
        self._client = client

    @property
    def client(self) -> Client:
        """Connected on first use and kept for the life of the kernel."""
        if self._client is None:
            self._client = connect(connection_file=_connection_file())
            atexit.register(self._client.close)
        return self._client

    @_submit_arguments
    @line_cell_magic
    def mlp_train(self, line: str, cell: str | None = None) -> JobHandle | None:
        """Run a file (`%mlp_train train.py`) or this cell (`%%mlp_train`) as a training job.

        The result shows the job's name and state (kept up to date) with a button that opens
        it in the ML Jobs panel; it is also a Python object: `job = _` then `job.state`,
        `job.wait()`, `job.logs()`, `job.cancel()`, `job.refresh()`, `job.id`.
        """
        return self._submit("train", line, cell, "mlp_train")

    @_submit_arguments
    @line_cell_magic
    def mlp_etl(self, line: str, cell: str | None = None) -> JobHandle | None:
        """Run a file (`%mlp_etl pipeline.py`) or this cell (`%%mlp_etl`) as an ETL job (an
        Apache Beam pipeline). Same options and result as `%mlp_train`.
        """
        return self._submit("etl", line, cell, "mlp_etl")

    @magic_arguments()
    @argument("--state", action="append", default=[], help="Only jobs in this state (repeatable).")
    @argument("--limit", type=int, default=20, help="How many jobs, newest first.")
    @line_magic
    def mlp_jobs(self, line: str) -> JobList | None:
        """The most recent jobs, newest first."""
        options = parse_line(self.mlp_jobs, line)
        with _friendly_errors():
            return JobList(self.client.list_jobs(states=options.state, limit=options.limit))
        return None

    @magic_arguments()
    @argument("job_id", help="The job's id.")
    @argument("-f", "--follow", action="store_true", help="Keep printing until the job ends.")
    @line_magic
    def mlp_logs(self, line: str) -> None:
        """Print a job's log; with --follow, keep printing as it grows until the job ends."""
        options = parse_line(self.mlp_logs, line)
        with _friendly_errors():
            handle = JobHandle(self.client, self.client.get(options.job_id))
            if not options.follow:
                handle.print_logs(sys.stdout)
                return
            try:
                handle.wait(stream=sys.stdout, raise_on_failure=False)
            except KeyboardInterrupt:
                print("\n(stopped following; the job keeps running)")

    @magic_arguments()
    @argument("job_id", help="The job's id.")
    @line_magic
    def mlp_cancel(self, line: str) -> JobHandle | None:
        """Ask a job to stop."""
        options = parse_line(self.mlp_cancel, line)
        with _friendly_errors():
            return JobHandle(self.client, self.client.cancel(options.job_id))
        return None

    # ----- submitting -----

    def _submit(self, kind: str, line: str, cell: str | None, magic: str) -> JobHandle | None:
        options = parse_line(getattr(self, magic), line)
        with _friendly_errors():
            body = self.job_body(kind, options, cell)
            if options.schedule:
                request = schedule_body(options.schedule, options, body)
                print(created_text(self.client.create_schedule(request)))
                return None
            check_no_when(options)
            job = self.client.submit(body)
            _print_warnings(job)
            handle = JobHandle(self.client, job)
            if not options.wait:
                return handle
            handle._ipython_display_()
            try:
                handle.wait(stream=sys.stdout)
            except KeyboardInterrupt:
                print(f"\n(stopped waiting; the job keeps running: %mlp_cancel {handle.id})")
            # The live summary above is the job's one status line; returning the handle too
            # would show it a second time under the log.
            return None
        return None

    def job_body(self, kind: str, options: argparse.Namespace, cell: str | None) -> dict[str, Any]:
        """The body of POST /mlp/jobs for `%mlp_<kind>` options and, for `%%mlp_<kind>`, its
        cell (with the notebook's `mlp-include` cells and the parameters)."""
        magic = f"mlp_{kind}"
        if cell is None:
            if not options.source:
                raise UsageError(
                    f"give a file (%{magic} train.py) or use %%{magic} as a cell magic"
                )
            source: dict[str, Any] = {"path": self.client.source_path(Path(options.source))}
        else:
            if options.source:
                raise UsageError(
                    f"%%{magic} runs the cell; '{options.source}' is not an option "
                    f"(to run a file, use the line magic %{magic} {options.source})"
                )
            source = {"code": self._cell_code(cell, options)}
            origin = cell_origin(self.client.root_dir)
            if origin is not None:
                source["origin"] = origin
        return spec_body(options, kind=kind, source=source, server_path=self.client.source_path)

    def _cell_code(self, cell: str, options: argparse.Namespace) -> str:
        if options.include:
            raise MLPError.invalid(
                "include", "cell jobs ship no files; run a file (%mlp_train train.py) to --include"
            )
        notebook = self._notebook(options)
        cells = include_cells(notebook) if notebook else []
        if cells:
            print(
                f"jupyter-mlp: with {len(cells)} saved cell(s) tagged {INCLUDE_TAG} of {notebook}"
            )
        return cell_job_code(cell, cells, parse_params(options.param))

    def _notebook(self, options: argparse.Namespace) -> Path | None:
        if options.include_cells_from:
            path = Path(options.include_cells_from).expanduser()
            if not path.is_file():
                raise MLPError.invalid("include-cells-from", f"no notebook '{path}'")
            return path
        client = self.client
        connection_file = _connection_file()
        if isinstance(client, ServerClient) and connection_file:
            kernel_id = kernel_id_of(connection_file)
            found = kernel_notebook(client.server, kernel_id) if kernel_id else None
            if found is not None:
                return found
        vscode = self.shell.user_ns.get("__vsc_ipynb_file__") if self.shell else None
        return Path(vscode) if vscode and Path(vscode).is_file() else None


def parse_line(magic: Callable[..., Any], line: str) -> argparse.Namespace:
    """A magic's options, its line split as a POSIX shell splits a command (quotes removed),
    so a line means what the same flags mean to `jupyter mlp submit` and to the panel's
    "copy as %mlp_train"."""
    try:
        argv = shlex.split(line)
    except ValueError as exc:
        raise UsageError(f"cannot split the options: {exc} in {line!r}") from None
    options: argparse.Namespace = magic.parser.parse_args(argv)  # type: ignore[attr-defined]
    return options


def include_cells(notebook: Path) -> list[str]:
    """The saved code cells tagged `mlp-include`, in notebook order (never a job's own cell)."""
    try:
        nb = nbformat.read(notebook, as_version=4)
    except Exception as exc:  # nbformat raises many kinds for a damaged file
        raise MLPError.invalid("include-cells-from", f"cannot read {notebook}: {exc}") from None
    return [
        cell
        for cell in nb.cells
        if cell.cell_type == "code"
        and INCLUDE_TAG in cell.metadata.get("tags", [])
        and not cell.source.lstrip().startswith(JOB_MAGICS)
    ]


def cell_job_code(cell: str, included: list[Any], parameters: dict[str, Any]) -> str:
    """The program a cell job runs: included cells, the place of the parameters (after an
    included `parameters` cell, like papermill, else first), then the cell. The values are the
    spec's `parameters`, put in that place when the job is bundled, so a rerun with other
    values runs with those."""
    parts = [(cell.source, PARAMETERS_TAG in cell.metadata.get("tags", [])) for cell in included]
    blocks: list[str] = []
    injected = not parameters
    after = max((i for i, (_, is_params) in enumerate(parts) if is_params), default=-1)
    if after < 0 and not injected:
        blocks.append(PARAMETERS_MARK + "\n")
        injected = True
    for index, (source, _) in enumerate(parts):
        blocks.append(f"# cell tagged {INCLUDE_TAG}\n{source.rstrip()}\n")
        if index == after and not injected:
            blocks.append(PARAMETERS_MARK + "\n")
    blocks.append(cell if cell.endswith("\n") else cell + "\n")
    return "\n".join(blocks)


def cell_origin(root_dir: Path | None) -> dict[str, str] | None:
    """Where the running cell is, for a job to link back to: the notebook of this kernel's
    session (JPY_SESSION_NAME, which Jupyter Server gives a notebook's kernel) relative to the
    server's root dir, and the cell's id (JupyterLab sends it as `cellId` in the execute
    request's metadata). None outside a notebook under the root dir."""
    session = os.environ.get("JPY_SESSION_NAME", "")
    if not session.endswith(".ipynb"):
        return None  # no session, or a console's
    path = Path(session)
    if path.is_absolute():
        if root_dir is None or not path.resolve().is_relative_to(root_dir.resolve()):
            return None
        notebook = path.resolve().relative_to(root_dir.resolve()).as_posix()
    else:
        notebook = path.as_posix()  # the session's API path: relative to the root dir already
    origin = {"notebook": notebook}
    cell_id = _request_metadata().get("cellId")
    if isinstance(cell_id, str) and cell_id:
        origin["cell_id"] = cell_id
    return origin


def _request_metadata() -> dict[str, Any]:
    """The metadata of the execute request running now (empty outside a kernel)."""
    from IPython import get_ipython

    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    parent = kernel.get_parent("shell") if kernel is not None else None
    metadata = (parent or {}).get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def _print_warnings(job: Job) -> None:
    """What the checks at submit warned of (an undeclared parameter, ...), one line each."""
    for warning in job.warnings:
        print(f"jupyter-mlp: warning: {warning.field}: {warning.message}", file=sys.stderr)


def _connection_file() -> str | None:
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is None or getattr(shell, "kernel", None) is None:
            return None
        from ipykernel import get_connection_file

        return get_connection_file()
    except Exception:  # not in a kernel: plain IPython
        return None


@contextmanager
def _friendly_errors() -> Iterator[None]:
    """Turn the caller's mistakes and connection failures into one-line UsageErrors."""
    try:
        yield
    except MLPError as exc:
        raise UsageError(describe_error(exc)) from None
    except ServerUnreachable as exc:
        raise UsageError(str(exc)) from None


def load_ipython_extension(ipython: Any) -> None:
    ipython.register_magics(MLPMagics(ipython))


__all__ = ["JobFailed", "MLPMagics", "cell_job_code", "load_ipython_extension"]
