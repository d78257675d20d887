"""Standalone job runner, copied into every job bundle.

Usage: python runner.py [BUNDLE_DIR]   (default: the folder this file is in, so a packaged
bundle runs as `python -m PACKAGE.runner`)

It needs only the standard library (and papermill for notebook jobs), so it runs the same on
this machine and inside a cloud container. It installs the bundle's requirements (locally into
a per-job environment layered on the launching Python, reused by jobs with the same
requirements; with MLP_INSTALL_IN_PLACE=1, as in a container, into the running Python), runs
the entrypoint as a child process, and records the job's phase and exit status in the file named
by MLP_STATUS_FILE, so whoever watches the job, even a server started after the job was, can
tell how it ended. A failed notebook job also leaves why, next to that file.

The job's code runs as the same user, so it can write that file and reopen the pipe: given a
key (on a descriptor the job never holds, or in a warm runner's assignment), the runner signs
each record (HMAC-SHA256), and the server believes only signed ones. The runner is made
non-dumpable, so its descriptors and memory are closed to the job's processes (unless they are
root), and a child subreaper, so whatever the job started, however it hid, becomes the runner's
to end: when the job's main process ends, the runner ends all of it before recording how it ended.

In a Vertex AI job those files live on the bucket's Cloud Storage FUSE mount (`/gcs/<bucket>/`),
where a folder exists only once an object marks it: the runner makes every folder it writes
into. It runs on the prebuilt training images' Python, 3.10: keep it to that.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime
import hashlib
import hmac
import json
import os
import re
import select
import shutil
import signal
import site
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

# Where a bundle keeps the user's files; its own (this runner, the manifest, the requirements)
# are at its top, so a user's file of any name never replaces one of them.
SOURCE_DIR = "src"
# Where a bundle keeps its copy of `jupyter_mlp.report` (as the package `jupyter_mlp`), for a job
# whose Python has no jupyter-mlp of its own.
REPORT_DIR = "mlp_report"
# papermill's marks in an executed notebook: the cell it injected, the notes it added on failure.
_INJECTED_TAG = "injected-parameters"
_PAPERMILL_ERROR_TAG = "papermill-error-cell-tag"
_ANSI_CODE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_MESSAGE_LIMIT = 4000
# Where Vertex AI mounts Cloud Storage buckets: gs://<bucket>/<path> is /gcs/<bucket>/<path>.
_DEFAULT_GCS_MOUNT = "/gcs/"
# The output folders Vertex AI names (gs:// URIs under the job's base output directory).
_VERTEX_OUTPUT_DIRS = ("AIP_MODEL_DIR", "AIP_CHECKPOINT_DIR", "AIP_TENSORBOARD_LOG_DIR")


# The pipe to the server that launched this runner, when there is one. Read once at start (a warm
# runner replaces its environment later) and kept from the job's own processes (close_fds); the
# status file is for a later server.
_STATUS_FD = int(os.environ.pop("MLP_STATUS_FD", "-1") or -1)
# Linux prctl options: PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER.
_PR_SET_DUMPABLE = 4
_PR_SET_CHILD_SUBREAPER = 36
# How long what a job left running has between SIGTERM and SIGKILL once its main process ended.
_DEFAULT_LEFTOVER_GRACE_SECONDS = 5.0


def _read_key_fd() -> bytes | None:
    """The key that signs this job's records, read from the descriptor the server named and
    closed at once: no process the job starts ever holds it."""
    fd = int(os.environ.pop("MLP_STATUS_KEY_FD", "-1") or -1)
    if fd < 0:
        return None
    try:
        with os.fdopen(fd, "rb") as source:
            return bytes.fromhex(source.read().decode().strip()) or None
    except (OSError, ValueError):
        return None


_STATUS_KEY = _read_key_fd()
# How far the notebook got, as last told ("cell 4 of 12"): every record after carries it, so
# the one that says how the job ended also says how far it ran. None for a script job.
_PROGRESS: dict[str, Any] | None = None
# The relay of a notebook's progress writes records from a thread of its own.
_STATUS_LOCK = threading.Lock()
# A Cloud Storage object takes about one write a second: progress is recorded no more often.
_PROGRESS_WRITE_INTERVAL = 1.0
# The papermill engine that tells each code cell's start and end (see `ReportingCells`).
_REPORTING_ENGINE = "mlp-reporting"
_CELL_SOURCE_LIMIT = 200


def record_signature(record: dict[str, Any], key: bytes) -> str:
    """The HMAC-SHA256 of a status record (every field but `mac`), in a canonical JSON form."""
    body = {k: v for k, v in record.items() if k != "mac"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def is_authentic(record: dict[str, Any], key: bytes) -> bool:
    """Whether `record` was signed with `key` (by the job's runner, the one holder of it)."""
    mac = record.get("mac")
    if not isinstance(mac, str):
        return False
    try:
        expected = record_signature(record, key)
    except (TypeError, ValueError):
        return False
    return hmac.compare_digest(mac, expected)


def write_status(record: dict[str, Any]) -> None:
    """Tell the launching server (over the status pipe) and any later one (in the status file,
    replaced atomically so a reader never sees half a record) what the job is doing."""
    with _STATUS_LOCK:
        _write_record(record)


def _write_record(record: dict[str, Any]) -> None:
    progress = {"progress": _PROGRESS} if _PROGRESS is not None else {}
    record = {**_runner_fields(), **progress, **record, "at": time.time()}
    if _STATUS_KEY is not None:
        record["mac"] = record_signature(record, _STATUS_KEY)
    if _STATUS_FD >= 0:
        try:
            os.write(_STATUS_FD, json.dumps(record).encode() + b"\n")
        except OSError:  # the server went away; the file still tells the next one
            pass
    path = os.environ.get("MLP_STATUS_FILE")
    if not path:
        return
    tmp = f"{path}.tmp"
    _make_parent(tmp)
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(record, handle)
    os.replace(tmp, path)


def _runner_fields() -> dict[str, Any]:
    """What every record says of its runner: its pid and kernel start time (so a recycled pid
    is never taken for it) and the GPUs the job was given, so a server that finds the runner
    again (it lost the launch) knows what it holds."""
    try:
        with open("/proc/self/stat", "rb") as handle:
            ticks: int | None = int(handle.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):  # no /proc here
        ticks = None
    gpus = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    return {"pid": os.getpid(), "start_ticks": ticks, "gpus": gpus}


def guard_runner() -> None:
    """Close this process to the job's (non-root) processes (no /proc/<pid>/fd, mem or ptrace:
    not dumpable) and make it the reaper of every orphan the job leaves. Linux only."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
        libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):  # no prctl here: the job runs, less guarded
        pass


def _descendants() -> set[int]:
    """Live (non-zombie) descendants of this process; as a subreaper, also every orphan of the
    job's. Empty where there is no /proc."""
    parents: dict[int, int] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return set()
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] not in (b"Z", b"X"):
            parents[int(name)] = int(fields[1])
    found: set[int] = set()
    grown = {os.getpid()}
    while grown:
        grown = {pid for pid, parent in parents.items() if parent in grown} - found
        found |= grown
    return found


def _reap_ended() -> None:
    """Collect every ended child (orphans included), so none stays a zombie."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def end_leftovers() -> None:
    """End everything the job left running: SIGTERM, SIGKILL after a grace period, reaping each."""
    try:
        grace = float(os.environ.get("MLP_LEFTOVER_GRACE", ""))
    except ValueError:
        grace = _DEFAULT_LEFTOVER_GRACE_SECONDS
    deadline = time.monotonic() + grace
    told: set[int] = set()
    while True:
        _reap_ended()
        alive = _descendants()
        if not alive:
            return
        late = time.monotonic() >= deadline
        for pid in alive if late else alive - told:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL if late else signal.SIGTERM)
        told |= alive
        time.sleep(0.02)


def wait_for(child: subprocess.Popen[bytes]) -> int:
    """The exit code of `child` (negative: the signal), reaping every orphan meanwhile."""
    while True:
        pid, status = os.waitpid(-1, 0)
        if pid == child.pid:
            child.returncode = os.waitstatus_to_exitcode(status)
            return child.returncode


def _make_parent(path: str | Path) -> None:
    """Make the folder `path` goes in: on a Cloud Storage FUSE mount nothing else will."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)


def is_chief() -> bool:
    """Whether this replica is the job's chief: Vertex AI's CLUSTER_SPEC says `workerpool0`
    (the chief pool, of one replica), or there is no cluster at all (a local job)."""
    spec = os.environ.get("CLUSTER_SPEC")
    if not spec:
        return True
    try:
        task = json.loads(spec).get("task") or {}
    except (ValueError, AttributeError):  # unreadable: one writer is better than none
        return True
    return task.get("type", "workerpool0") == "workerpool0"


def make_vertex_output_dirs() -> None:
    """Make the mounted folders of AIP_MODEL_DIR and friends, as the local backend makes its
    own, so user code that writes into them (through `/gcs/`) needs no folder of its own."""
    mount = os.environ.get("MLP_GCS_MOUNT") or _DEFAULT_GCS_MOUNT
    if not os.path.isdir(mount):  # not in a Vertex AI job: nothing to mirror
        return
    for name in _VERTEX_OUTPUT_DIRS:
        uri = os.environ.get(name, "")
        if not uri.startswith("gs://"):
            continue
        folder = os.path.join(mount, uri[len("gs://") :])
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:  # the job's code may not need it: say so and go on
            print(f"[mlp] could not make {folder} for {name}: {exc}", flush=True)


def error_file() -> Path | None:
    """Where a job's failure is told in words; its content becomes the job's state message."""
    path = os.environ.get("MLP_STATUS_FILE")
    return Path(f"{path}.error") if path else None


def error_details_file() -> Path | None:
    """Where a failed notebook job records the failing cell (JSON), so the panel can open it."""
    path = os.environ.get("MLP_STATUS_FILE")
    return Path(f"{path}.error.json") if path else None


def prepare_python(requirements: list[str]) -> str:
    """The interpreter that runs the job, with its requirements installed."""
    if not requirements:
        return sys.executable
    pip = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
    if os.environ.get("MLP_INSTALL_IN_PLACE") == "1":
        print(f"[mlp] installing {' '.join(requirements)}", flush=True)
        subprocess.run([*pip, *requirements], check=True)
        return sys.executable
    cache = Path(os.environ.get("MLP_ENV_CACHE") or Path.home() / ".cache" / "jupyter-mlp" / "envs")
    key = hashlib.sha256(json.dumps([sys.executable, sys.version, sorted(requirements)]).encode())
    target = cache / key.hexdigest()[:16]
    python = target / "bin" / "python"
    if (target / ".complete").exists():
        print(f"[mlp] reusing the environment {target} for {' '.join(requirements)}", flush=True)
        return str(python)
    print(f"[mlp] creating an environment in {target} for {' '.join(requirements)}", flush=True)
    building = cache / f"{target.name}.{os.getpid()}.partial"
    try:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(building)], check=True)
        # Layer on the launching Python: its packages (pip included) stay importable behind the
        # environment's own, so only what is missing or pinned differently is installed, and
        # nothing is ever installed into the launching environment.
        purelib = Path(
            sysconfig.get_path("purelib", vars={"base": str(building), "platbase": str(building)})
        )
        parents = [p for p in site.getsitepackages() if os.path.isdir(p)]
        (purelib / "_mlp_parent.pth").write_text(
            "".join(f"import site; site.addsitedir({p!r})\n" for p in parents), encoding="utf-8"
        )
        subprocess.run([str(building / "bin" / "python"), *pip[1:], *requirements], check=True)
        (building / ".complete").touch()
    except BaseException:  # a failed build is never found again: leave nothing of it behind
        shutil.rmtree(building, ignore_errors=True)
        raise
    try:
        building.rename(target)
    except OSError:  # another job built the same environment meanwhile: use that one
        shutil.rmtree(building, ignore_errors=True)
    return str(python)


def source_dir(manifest: dict[str, Any], bundle: Path) -> Path:
    """The bundle's folder of user files (the bundle itself for bundles made before `src/`)."""
    return bundle / manifest.get("source_dir", "")


def job_env(env: Mapping[str, str], manifest: dict[str, Any], bundle: Path) -> dict[str, str]:
    """`env` for the job's own code: helper modules shipped in the bundle import as they did
    next to the source, and `import jupyter_mlp` gives `report` also where it is not installed."""
    paths = [str(source_dir(manifest, bundle)), env.get("PYTHONPATH"), report_path(bundle)]
    return {**env, "PYTHONPATH": os.pathsep.join(filter(None, paths))}


def report_path(bundle: Path) -> str | None:
    """The bundle's copy of `jupyter_mlp.report`, for a job whose Python cannot import
    jupyter_mlp (a cloud container, another environment); None where it can: the installed
    package is never shadowed."""
    import importlib.util

    shipped = bundle / REPORT_DIR
    if not shipped.is_dir() or importlib.util.find_spec("jupyter_mlp") is not None:
        return None
    return str(shipped)


def place_includes(manifest: dict[str, Any], bundle: Path) -> None:
    """Copy the files included next to the source into the working folder, so relative paths
    in the job mean what they meant next to the source."""
    source = source_dir(manifest, bundle)
    for name in manifest.get("includes", []):
        target = (bundle / name).relative_to(source)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(bundle / name, target)


def payload_command(
    manifest: dict[str, Any], bundle: Path, python: str, trial_args: list[str] | None = None
) -> list[str]:
    """The job's program; a tuning job's trial arguments (`--name=value`) follow its own."""
    entry = str(bundle / manifest["entrypoint"])
    this = str(Path(__file__).resolve())
    extra = trial_args or []
    if manifest["mode"] == "notebook":
        return [python, "-u", this, "--execute-notebook", str(bundle), *extra]
    if manifest.get("ipython"):
        # IPython syntax (magics, !shell) was turned into get_ipython() calls: run under IPython.
        return [python, "-u", this, "--ipython", entry, *manifest["args"], *extra]
    return [python, "-u", entry, *manifest["args"], *extra]


def is_trial_args(argv: list[str]) -> bool:
    """Whether `argv` are a Vertex AI tuning job's trial parameters, which it appends to the
    program's arguments as `--name=value`."""
    return bool(argv) and all(re.fullmatch(r"--[A-Za-z_][\w.-]*=.*", a, re.S) for a in argv)


def parse_trial_args(argv: list[str]) -> dict[str, Any]:
    """`--name=value` trial arguments as notebook parameters: numbers as numbers."""
    parameters: dict[str, Any] = {}
    for arg in argv:
        name, _, text = arg[2:].partition("=")
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        parameters[name] = value if isinstance(value, (int, float)) else text
    return parameters


def enter_trial_folder() -> None:
    """Give a Vertex AI trial (CLOUD_ML_TRIAL_ID) outputs of its own, in `<trial id>/` under
    the job's output folder, as Vertex does for AIP_MODEL_DIR: trials run side by side."""
    trial, output = os.environ.get("CLOUD_ML_TRIAL_ID"), os.environ.get("MLP_OUTPUT_DIR")
    if not trial or not output:
        return
    folder = os.path.join(output, trial, "")
    os.makedirs(folder, exist_ok=True)
    os.environ["MLP_OUTPUT_DIR"] = folder
    if os.environ.get("MLP_STATUS_FILE"):
        os.environ["MLP_STATUS_FILE"] = os.path.join(folder, "status.json")


def enter_run_folder() -> None:
    """Give a scheduled run (MLP_PER_RUN_OUTPUT: its schedule's output folder, gs://) outputs of
    its own, `runs/<Vertex job id>/` there, before user code runs: every fire sends the same
    CustomJob, so the run takes its identity from Vertex AI (CLOUD_ML_JOB_ID) and runs never
    overwrite each other. Its status, executed notebook, model and checkpoints go there."""
    schedule_folder = os.environ.get("MLP_PER_RUN_OUTPUT")
    if not schedule_folder:
        return
    run = (
        os.environ.get("CLOUD_ML_JOB_ID")
        or f"unnamed-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    )
    run_uri = f"{schedule_folder.rstrip('/')}/runs/{run}/"
    os.environ["AIP_MODEL_DIR"] = f"{run_uri}model/"
    os.environ["AIP_CHECKPOINT_DIR"] = f"{run_uri}checkpoints/"
    output = os.environ.get("MLP_OUTPUT_DIR")
    if output:
        folder = os.path.join(output, "runs", run, "")
        os.makedirs(folder, exist_ok=True)
        os.environ["MLP_OUTPUT_DIR"] = folder
        if os.environ.get("MLP_STATUS_FILE"):
            os.environ["MLP_STATUS_FILE"] = os.path.join(folder, "status.json")
    print(f"[mlp] a scheduled run: its outputs are in {run_uri}", flush=True)


def run_ipython_script(entry: str, args: list[str]) -> int:
    """Run a script that calls get_ipython() as `python ENTRY ARGS...` would run it: the same
    sys.argv and sys.path[0], and the same exit status, in an IPython shell (not its command
    line, which would take the script's arguments as its own options)."""
    import traceback

    from IPython.core.interactiveshell import InteractiveShell

    sys.argv = [entry, *args]
    sys.path[0] = os.path.dirname(entry)  # not this runner's folder: the script's, as python does
    shell = InteractiveShell.instance(colors="nocolor")  # a log file, not a terminal
    shell.user_ns["__file__"] = entry
    with open(entry, "rb") as handle:
        code = compile(handle.read(), entry, "exec")
    with shell.builtin_trap:
        try:
            exec(code, shell.user_ns)
        except SystemExit:
            raise
        except BaseException as exc:  # shown as python shows it, without this function's frame
            shown = exc.__traceback__.tb_next if exc.__traceback__ else None
            traceback.print_exception(type(exc), exc, shown)
            return 1
    return 0


def supervise(bundle: Path, trial_args: list[str] | None = None) -> int:
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    guard_runner()
    write_status({"phase": "preparing"})
    # The whole process group gets SIGTERM on cancel; the runner outlives its child long
    # enough to record how the child ended.
    signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        python = prepare_python(manifest.get("requirements", []))
    except subprocess.CalledProcessError as exc:
        message = f"installing the requirements failed (exit code {exc.returncode}); see the log"
        print(f"[mlp] {message}", flush=True)
        write_status({"phase": "exited", "exit_code": 1, "message": message})
        return 1
    place_includes(manifest, bundle)
    make_vertex_output_dirs()
    # A notebook's code runs in its kernel, which gets the job's environment; the runner that
    # drives papermill keeps its own, so no user module can shadow one papermill imports.
    notebook = manifest["mode"] == "notebook"
    env = dict(os.environ) if notebook else job_env(os.environ, manifest, bundle)
    relay = ProgressRelay() if notebook else None
    if relay is not None:
        env["MLP_PROGRESS_FD"] = str(relay.write_end)
    child = subprocess.Popen(
        payload_command(manifest, bundle, python, trial_args),
        env=env,
        stdin=subprocess.DEVNULL,
        pass_fds=(relay.write_end,) if relay is not None else (),
    )
    if relay is not None:
        relay.start()
    write_status({"phase": "running"})
    returncode = wait_for(child)
    end_leftovers()
    if relay is not None:
        relay.finish()
    record: dict[str, Any] = {"phase": "exited", "exit_code": returncode}
    failure = error_file()
    if failure and failure.exists():
        record["message"] = failure.read_text(encoding="utf-8").strip()
    write_status(record)
    return returncode if returncode >= 0 else 128 - returncode


def start_kernel(
    kernel_name: str, cwd: str | None = None, env: Mapping[str, str] | None = None
) -> Any:
    """A started kernel for papermill to use, which a SIGTERM to this process takes down too.

    Kernels run in a process group of their own, so the job's group signal alone would not
    reach them (nor what their cells started).
    """
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync

    km = AsyncKernelManager(kernel_name=kernel_name)
    options: dict[str, Any] = {"cwd": cwd} if cwd else {}
    if env is not None:
        options["env"] = dict(env)
    run_sync(km.start_kernel)(**options)

    def stop_kernel(*_: Any) -> None:
        group = getattr(km.provisioner, "pgid", None) or getattr(km.provisioner, "pid", None)
        if group:
            try:
                os.killpg(group, signal.SIGTERM)
            except OSError:
                pass

    signal.signal(signal.SIGTERM, stop_kernel)
    return km


async def _already_ready(timeout: float | None = None) -> None:
    """`wait_for_ready` of a client whose kernel has answered already."""


@contextlib.contextmanager
def clients_stopped(km: Any, ready: Any = None) -> Iterator[None]:
    """Stop every client made of `km` meanwhile. nbclient leaves running the client it makes of
    a kernel manager it does not own, and that client's garbage collection would log "Could not
    destroy zmq context" as the last line of every notebook job.

    `ready`: a client of `km` already connected to its answering kernel (a warm runner's), handed
    to the first who asks instead of a new one, whose `wait_for_ready` would idle 0.2 s for
    the kernel's output to go quiet."""
    made: list[Any] = []
    make = km.client

    def client(**kwargs: Any) -> Any:
        nonlocal ready
        if ready is not None:
            made.append(ready)
            ready.wait_for_ready = _already_ready
            ready = None
        else:
            made.append(make(**kwargs))
        return made[-1]

    km.client = client
    try:
        yield
    finally:
        del km.client  # the class's method again
        for kc in made if ready is None else [*made, ready]:
            kc.stop_channels()


class _OneNewline:
    """A logging filter that drops a message's own trailing newline: the handler ends each
    record with one, and papermill's cell output already has it (printed lines would come out
    double-spaced in the job's log)."""

    def filter(self, record: Any) -> bool:
        if isinstance(record.msg, str) and record.msg.endswith("\n"):
            record.msg = record.msg[:-1]
        return True


def execute_notebook(
    bundle: Path,
    km: Any = None,
    trial_parameters: dict[str, Any] | None = None,
    client: Any = None,
    report: Callable[[dict[str, Any]], None] | None = None,
) -> int:
    """Run the bundle's notebook with papermill; the executed notebook lands in the job folder,
    saved whole as each cell starts and ends.

    `km` is a kernel manager whose kernel is already running (a warm runner's), and `client`
    one of its clients, connected and heard from; `trial_parameters` are a tuning job's
    trial's, over the job's own; `report` is told how far the notebook got, cell by cell."""
    import logging

    import papermill
    from jupyter_core.utils import run_sync

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    for handler in logging.getLogger().handlers:  # papermill logs "text\n"; one newline is enough
        if not any(isinstance(f, _OneNewline) for f in handler.filters):
            handler.addFilter(_OneNewline())
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    output = notebook_output_dir() / manifest["output_notebook"]
    _make_parent(output)
    message = ""
    details: dict[str, Any] | None = None
    owns_kernel = km is None
    try:
        if km is None:
            env = job_env(os.environ, manifest, bundle)
            km = start_kernel(manifest["kernel_name"], os.getcwd(), env)
        with clients_stopped(km, ready=client):
            papermill.execute_notebook(
                str(bundle / manifest["entrypoint"]),
                str(output),
                parameters={**manifest["parameters"], **(trial_parameters or {})},
                kernel_name=manifest["kernel_name"],
                log_output=True,
                progress_bar=False,
                cwd=os.getcwd(),
                km=km,
                engine_name=reporting_engine(),
                mlp_report=report,
            )
    except papermill.PapermillExecutionError as exc:
        details = cell_failure(exc, output, manifest)
        message = failure_message(details)
    except Exception as exc:  # the kernel died (cancelled, out of memory) or could not start
        message = f"the notebook could not run to the end: {type(exc).__name__}: {exc}"
    finally:
        if owns_kernel and km is not None and km.has_kernel:
            run_sync(km.shutdown_kernel)(now=True)
    if not message:
        return 0
    failure, failure_details = error_file(), error_details_file()
    if failure:
        _make_parent(failure)
        failure.write_text(message, encoding="utf-8")
    if failure_details and details:
        _make_parent(failure_details)
        failure_details.write_text(json.dumps(details, ensure_ascii=False), encoding="utf-8")
    print(f"[mlp] {message}", flush=True)
    return 1


def record_progress(progress: dict[str, Any]) -> None:
    """Record how far the notebook got in the job's status (this process's records: a warm
    runner, or the relay of a runner supervising the notebook's process)."""
    global _PROGRESS
    _PROGRESS = progress
    write_status({"phase": "running"})


def progress_pipe(fd: int) -> Callable[[dict[str, Any]], None]:
    """Tell the runner supervising this process how far the notebook got (a JSON line on `fd`):
    this process holds neither the status pipe nor the key that signs records."""

    def report(progress: dict[str, Any]) -> None:
        try:
            os.write(fd, json.dumps(progress).encode() + b"\n")
        except OSError:  # the supervisor is gone: the notebook runs on regardless
            pass

    return report


class ProgressRelay:
    """Carries a notebook's progress from the process executing it into the job's status, at
    most once a second (`_PROGRESS_WRITE_INTERVAL`): what comes sooner waits for the second to
    be up, and the last word rides on the record of the job's end."""

    def __init__(self) -> None:
        self.read_end, self.write_end = os.pipe()
        self._thread = threading.Thread(target=self._relay, daemon=True)

    def start(self) -> None:
        """Once the child holds the write end: this process lets go of its own copy, so the
        pipe closes with the child."""
        os.close(self.write_end)
        self._thread.start()

    def finish(self) -> None:
        """Wait until the child's last word is taken (its end closed the pipe)."""
        self._thread.join(timeout=5 * _PROGRESS_WRITE_INTERVAL)

    def _relay(self) -> None:
        global _PROGRESS
        buffered, pending, written_at = b"", None, 0.0
        while True:
            due = written_at + _PROGRESS_WRITE_INTERVAL
            wait = None if pending is None else max(0.0, due - time.monotonic())
            if select.select([self.read_end], [], [], wait)[0]:
                piece = os.read(self.read_end, 65536)
                if not piece:
                    break
                *lines, buffered = (buffered + piece).split(b"\n")
                pending = _last_progress(lines) or pending
            if pending is not None and time.monotonic() >= due:
                record_progress(pending)
                pending, written_at = None, time.monotonic()
        os.close(self.read_end)
        if pending is not None:
            _PROGRESS = pending


def _last_progress(lines: list[bytes]) -> dict[str, Any] | None:
    found = None
    for line in lines:
        try:
            told = json.loads(line)
        except ValueError:
            continue
        found = told if isinstance(told, dict) else found
    return found


class ReportingCells:
    """Tells `report` how far papermill got through a notebook as each code cell starts and
    ends: cells done of the code cells it runs (the injected parameters and empty cells left
    out), and the running cell's number and first line. Hooked onto papermill's execution
    manager after its own steps, which save the executed notebook: the notebook on disk holds
    at least what the progress says."""

    def __init__(self, nb_man: Any, report: Callable[[dict[str, Any]], None]) -> None:
        counted = [index for index, cell in enumerate(nb_man.nb.cells) if _runs(cell)]
        self.numbers = {index: number for number, index in enumerate(counted, start=1)}
        self.report = report
        self.done = 0
        self.cell: int | None = None
        self.source = ""
        start, complete = nb_man.cell_start, nb_man.cell_complete

        def cell_start(cell: Any, cell_index: int | None = None, **kwargs: Any) -> None:
            start(cell, cell_index, **kwargs)
            self.started(cell, cell_index)

        def cell_complete(cell: Any, cell_index: int | None = None, **kwargs: Any) -> None:
            complete(cell, cell_index, **kwargs)
            self.completed(cell, cell_index)

        nb_man.cell_start, nb_man.cell_complete = cell_start, cell_complete
        self.tell()

    def started(self, cell: Any, index: int | None) -> None:
        number = self.numbers.get(index) if index is not None else None
        if number is not None:
            self.cell, self.source = number, _first_line(cell.get("source", ""))
            self.tell()

    def completed(self, cell: Any, index: int | None) -> None:
        status = cell.get("metadata", {}).get("papermill", {}).get("status")
        if index in self.numbers and status != "failed":  # a failed cell stays the one shown
            self.done += 1
            self.cell, self.source = None, ""
            self.tell()

    def tell(self) -> None:
        now = datetime.datetime.now(datetime.timezone.utc)
        self.report(
            {
                "cells_done": self.done,
                "cells_total": len(self.numbers),
                "cell": self.cell,
                "cell_source": self.source,
                "updated_at": now.isoformat(),
            }
        )


def _runs(cell: Any) -> bool:
    """Whether papermill runs `cell` as one of the notebook's own code cells."""
    source = cell.get("source", "")
    return bool(
        cell.get("cell_type") == "code" and source.strip() and _INJECTED_TAG not in _tags(cell)
    )


def _first_line(source: str) -> str:
    line = next((line.strip() for line in source.splitlines() if line.strip()), "")
    return line if len(line) <= _CELL_SOURCE_LIMIT else line[: _CELL_SOURCE_LIMIT - 3] + "..."


def reporting_engine() -> str:
    """papermill's nbclient engine, registered under a name of its own, that saves the executed
    notebook whole (`save_whole`) and hooks `ReportingCells` on when given a reporter (its
    `mlp_report` argument)."""
    from papermill.engines import NBClientEngine, papermill_engines

    class ReportingEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, **kwargs: Any) -> Any:
            report = kwargs.pop("mlp_report", None)
            save_whole(nb_man)
            if report is not None:
                ReportingCells(nb_man, report)
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    papermill_engines.register(_REPORTING_ENGINE, ReportingEngine)
    return _REPORTING_ENGINE


def save_whole(nb_man: Any) -> None:
    """Have papermill's saves as cells start and end replace the executed notebook whole
    (written under another name, then renamed over it), so whoever opens it while the job runs
    never reads half of one. On a Cloud Storage FUSE mount an object appears whole when closed,
    and a rename is a copy: there it is written in place."""
    save = nb_man.save
    mount = os.environ.get("MLP_GCS_MOUNT") or _DEFAULT_GCS_MOUNT

    def save_renamed(**kwargs: Any) -> None:
        target = nb_man.output_path
        if not target or os.path.abspath(target).startswith(mount):
            save(**kwargs)
            return
        folder, name = os.path.split(os.path.abspath(target))
        nb_man.output_path = os.path.join(folder, f".{name}.{os.getpid()}.partial")
        try:
            save(**kwargs)
        finally:
            nb_man.output_path, written = target, nb_man.output_path
        os.replace(written, target)

    nb_man.save = save_renamed


def notebook_output_dir() -> Path:
    """Where the executed notebook goes: the job's output folder for the chief replica; every
    other replica of a multi-replica job keeps its own in a local temporary folder, so one
    replica alone writes the notebook the server shows."""
    output = Path(os.environ.get("MLP_OUTPUT_DIR") or os.getcwd())
    if is_chief():
        return output
    local = Path(tempfile.mkdtemp(prefix="mlp-replica-"))
    print(f"[mlp] not the chief replica: the executed notebook stays in {local}", flush=True)
    return local


def cell_failure(error: Any, executed: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The failing cell of a notebook job, from papermill's error (the cell's error output):
    where it is in the user's notebook (`cell_index`, 0-based, counting every cell as JupyterLab
    shows them; `cell_id`), and its error without colour codes."""
    cell_index: int | None = error.cell_index
    cell_id = None
    try:
        cells = json.loads(executed.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError):
        cells = None
    if cells is not None:
        # The cells as papermill counted them (before adding its notes), less the one it
        # injected, are the job notebook's; the manifest maps those to the user's notebook.
        ran = [c for c in cells if _PAPERMILL_ERROR_TAG not in _tags(c)]
        failing = ran[error.cell_index] if error.cell_index < len(ran) else {}
        cell_id = failing.get("id")
        job_index = sum(_INJECTED_TAG not in _tags(c) for c in ran[: error.cell_index])
        source_cells = manifest.get("source_cells") or []
        if _INJECTED_TAG in _tags(failing):
            cell_index = None
        elif job_index < len(source_cells):
            cell_index = source_cells[job_index]
        else:
            cell_index = job_index
    return {
        "cell_index": cell_index,
        "cell_id": cell_id,
        "ename": error.ename,
        "evalue": error.evalue,
        "traceback": [_ANSI_CODE.sub("", part) for part in error.traceback or []],
    }


def failure_message(failure: dict[str, Any]) -> str:
    """`cell N raised KeyError: 'x'`, then the traceback's frames that matter: the cell's own
    (with its source line) and the last ones, where the error was raised."""
    index = failure["cell_index"]
    where = f"cell {index + 1}" if index is not None else "the injected parameters"
    head = f"{where} raised {failure['ename']}"
    if failure["evalue"]:
        head += f": {failure['evalue']}"
    frames = [
        part.strip("\n")
        for part in failure["traceback"]
        if part.strip()
        and set(part.strip()) != {"-"}
        and "Traceback (most recent call last)" not in part
        and not part.startswith(f"{failure['ename']}:")
        and part.strip() != failure["ename"]
    ]
    if len(frames) > 3:
        frames = [frames[0], "...", *frames[-2:]]
    message = "\n".join([head, *frames])
    return message if len(message) <= _MESSAGE_LIMIT else message[: _MESSAGE_LIMIT - 3] + "..."


def _tags(cell: dict[str, Any]) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _first_notebook_costs() -> None:
    """Pay what the first notebook read and written in a process costs (nbformat compiles a
    schema validator for each format version, about 0.1 s), for the versions JupyterLab writes."""
    import nbformat

    for minor in sorted({4, nbformat.current_nbformat_minor}):
        nb = nbformat.v4.new_notebook(nbformat_minor=minor)
        nbformat.writes(nbformat.reads(nbformat.writes(nb), as_version=4))


def serve_warm(kernel_name: str) -> int:
    """Be a warm runner: papermill imported and a kernel started before any job exists; then
    wait on stdin for one notebook job (a JSON line), become it, run it and exit.

    The server keeps one or more of these ready, so a notebook job skips the interpreter start,
    the imports and the kernel start. End of input (the server went away) means: shut down.
    """
    import papermill  # noqa: F401  (paid for now, before the job arrives)
    from jupyter_core.utils import run_sync

    global _STATUS_KEY
    guard_runner()
    _first_notebook_costs()

    km = start_kernel(kernel_name)
    client = km.client()
    client.start_channels(hb=False)  # papermill starts the heartbeat when it takes the client
    run_sync(client.wait_for_ready)(timeout=120)
    # A kernel's first execution costs more than the next ones (IPython's first cell): paid
    # now, silently and out of the history, so the job's first cell runs at the usual speed.
    run_sync(client.execute_interactive)("pass", silent=True, store_history=False, timeout=60)
    line = sys.stdin.readline()
    if not line.strip():
        client.stop_channels()
        run_sync(km.shutdown_kernel)(now=True)
        return 0
    job = json.loads(line)
    _STATUS_KEY = bytes.fromhex(job.get("status_key") or "") or None
    # Become the job: its log, its folder, its environment (in this process and the kernel).
    sys.stdout.flush()
    sys.stderr.flush()
    log = os.open(job["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.chdir(job["cwd"])
    os.environ.clear()
    os.environ.update(job["env"])
    bundle = Path(job["bundle"])
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    place_includes(manifest, bundle)
    write_status({"phase": "running"})
    kernel_env = job_env(job["env"], manifest, bundle)
    setup = (
        "import os as _os, sys as _sys\n"
        f"_os.chdir({job['cwd']!r})\n_os.environ.clear()\n_os.environ.update({kernel_env!r})\n"
        f"_sys.path.insert(0, {str(source_dir(manifest, bundle))!r})\ndel _os, _sys\n"
    )
    # Not waited for: the kernel runs requests in order, so this runs before papermill's first
    # cell, and papermill (nbclient) takes only the replies to its own requests.
    client.execute(setup, silent=True, store_history=False)
    print(
        "[mlp] running in a warm runner (papermill and the kernel were started ahead)", flush=True
    )
    returncode = execute_notebook(bundle, km=km, client=client, report=record_progress)
    if km.has_kernel:
        run_sync(km.shutdown_kernel)(now=True)
    end_leftovers()  # what the kernel's cells started: the job is done once that is gone
    record: dict[str, Any] = {"phase": "exited", "exit_code": returncode}
    failure = error_file()
    if failure and failure.exists():
        record["message"] = failure.read_text(encoding="utf-8").strip()
    write_status(record)
    return returncode


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "--execute-notebook":
        bundle, trial = Path(argv[1]).resolve(), parse_trial_args(argv[2:])
        # Popped before the kernel gets this environment: the pipe is this process's alone.
        fd = int(os.environ.pop("MLP_PROGRESS_FD", "-1") or -1)
        report = progress_pipe(fd) if fd >= 0 else None
        return execute_notebook(bundle, trial_parameters=trial, report=report)
    if len(argv) == 2 and argv[0] == "--warm":
        return serve_warm(argv[1])
    if len(argv) >= 2 and argv[0] == "--ipython":
        return run_ipython_script(argv[1], argv[2:])
    if is_trial_args(argv):  # a trial of a Vertex AI tuning job, run as `-m PACKAGE.runner`
        enter_trial_folder()
        return supervise(Path(os.path.dirname(__file__)).resolve(), argv)
    enter_run_folder()
    return supervise(Path(argv[0] if argv else os.path.dirname(__file__)).resolve())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
