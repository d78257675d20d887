"""Standalone job runner, copied into every job bundle.

Usage: python runner.py BUNDLE_DIR

It needs only the standard library (and papermill for notebook jobs), so it runs the same on
this machine and inside a cloud container. It installs the bundle's requirements (locally into
a per-job environment layered on the launching Python, reused by jobs with the same
requirements; with MLP_INSTALL_IN_PLACE=1, as in a container, into the running Python), runs
the entrypoint as a child process, and records the job's phase and exit status in the file named
by MLP_STATUS_FILE, so whoever watches the job, even a server started after the job was, can
tell how it ended.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import site
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any


def write_status(record: dict[str, Any]) -> None:
    """Replace the status file atomically, so a reader never sees half a record."""
    path = os.environ.get("MLP_STATUS_FILE")
    if not path:
        return
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump({**record, "at": time.time()}, handle)
    os.replace(tmp, path)


def error_file() -> Path | None:
    path = os.environ.get("MLP_STATUS_FILE")
    return Path(f"{path}.error") if path else None


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
    try:
        building.rename(target)
    except OSError:  # another job built the same environment meanwhile: use that one
        shutil.rmtree(building, ignore_errors=True)
    return str(python)


def place_includes(manifest: dict[str, Any], bundle: Path) -> None:
    """Copy the files included next to the source into the working folder, so relative paths
    in the job mean what they meant next to the source."""
    for name in manifest.get("includes", []):
        target = Path(name)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(bundle / name, target)


def payload_command(manifest: dict[str, Any], bundle: Path, python: str) -> list[str]:
    entry = str(bundle / manifest["entrypoint"])
    if manifest["mode"] == "notebook":
        return [python, "-u", str(Path(__file__).resolve()), "--execute-notebook", str(bundle)]
    if manifest.get("ipython"):
        # IPython syntax (magics, !shell) was turned into get_ipython() calls: run under IPython.
        return [
            python,
            "-m",
            "IPython",
            "--quick",
            "--no-banner",
            "--colors=nocolor",
            entry,
            *manifest["args"],
        ]
    return [python, "-u", entry, *manifest["args"]]


def supervise(bundle: Path) -> int:
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    write_status({"phase": "preparing", "pid": os.getpid()})
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
    env = dict(os.environ)
    # Helper modules shipped in the bundle import as they did next to the source.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(bundle), env.get("PYTHONPATH")]))
    child = subprocess.Popen(
        payload_command(manifest, bundle, python), env=env, stdin=subprocess.DEVNULL
    )
    write_status({"phase": "running", "pid": os.getpid()})
    returncode = child.wait()
    record: dict[str, Any] = {"phase": "exited", "exit_code": returncode}
    failure = error_file()
    if failure and failure.exists():
        record["message"] = failure.read_text(encoding="utf-8").strip()
    write_status(record)
    return returncode if returncode >= 0 else 128 - returncode


def start_kernel(kernel_name: str, cwd: str | None = None) -> Any:
    """A started kernel for papermill to use, which a SIGTERM to this process takes down too.

    Kernels run in a process group of their own, so the job's group signal alone would not
    reach them (nor what their cells started).
    """
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync

    km = AsyncKernelManager(kernel_name=kernel_name)
    run_sync(km.start_kernel)(**({"cwd": cwd} if cwd else {}))

    def stop_kernel(*_: Any) -> None:
        group = getattr(km.provisioner, "pgid", None) or getattr(km.provisioner, "pid", None)
        if group:
            try:
                os.killpg(group, signal.SIGTERM)
            except OSError:
                pass

    signal.signal(signal.SIGTERM, stop_kernel)
    return km


def execute_notebook(bundle: Path, km: Any = None) -> int:
    """Run the bundle's notebook with papermill; the executed notebook lands in the job folder.

    `km` is a kernel manager whose kernel is already running (a warm runner's)."""
    import logging

    import papermill
    from jupyter_core.utils import run_sync

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    output = Path(os.environ.get("MLP_OUTPUT_DIR") or os.getcwd()) / manifest["output_notebook"]
    message = ""
    owns_kernel = km is None
    try:
        if km is None:
            km = start_kernel(manifest["kernel_name"], os.getcwd())
        papermill.execute_notebook(
            str(bundle / manifest["entrypoint"]),
            str(output),
            parameters=manifest["parameters"],
            kernel_name=manifest["kernel_name"],
            log_output=True,
            progress_bar=False,
            cwd=os.getcwd(),
            km=km,
        )
    except papermill.PapermillExecutionError as exc:
        message = (
            f"cell {exc.cell_index + 1} (In [{exc.exec_count}]) raised {exc.ename}: {exc.evalue}"
        )
    except Exception as exc:  # the kernel died (cancelled, out of memory) or could not start
        message = f"the notebook could not run to the end: {type(exc).__name__}: {exc}"
    finally:
        if owns_kernel and km is not None and km.has_kernel:
            run_sync(km.shutdown_kernel)(now=True)
    if not message:
        return 0
    failure = error_file()
    if failure:
        failure.write_text(message, encoding="utf-8")
    print(f"[mlp] {message}", flush=True)
    return 1


def serve_warm(kernel_name: str) -> int:
    """Be a warm runner: papermill imported and a kernel started before any job exists; then
    wait on stdin for one notebook job (a JSON line), become it, run it and exit.

    The server keeps one or more of these ready, so a notebook job skips the interpreter start,
    the imports and the kernel start. End of input (the server went away) means: shut down.
    """
    import papermill  # noqa: F401  (paid for now, before the job arrives)
    from jupyter_core.utils import run_sync

    km = start_kernel(kernel_name)
    client = km.client()
    client.start_channels()
    run_sync(client.wait_for_ready)(timeout=120)
    line = sys.stdin.readline()
    if not line.strip():
        client.stop_channels()
        run_sync(km.shutdown_kernel)(now=True)
        return 0
    job = json.loads(line)
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
    write_status({"phase": "running", "pid": os.getpid()})
    setup = (
        "import os as _os, sys as _sys\n"
        f"_os.chdir({job['cwd']!r})\n_os.environ.clear()\n_os.environ.update({job['env']!r})\n"
        f"_sys.path.insert(0, {str(bundle)!r})\ndel _os, _sys\n"
    )
    run_sync(client.execute_interactive)(setup, silent=True, store_history=False, timeout=60)
    client.stop_channels()
    print(
        "[mlp] running in a warm runner (papermill and the kernel were started ahead)", flush=True
    )
    returncode = execute_notebook(bundle, km=km)
    record: dict[str, Any] = {"phase": "exited", "exit_code": returncode}
    failure = error_file()
    if failure and failure.exists():
        record["message"] = failure.read_text(encoding="utf-8").strip()
    write_status(record)  # the job is done: say so before the kernel's shutdown
    if km.has_kernel:
        run_sync(km.shutdown_kernel)(now=True)
    return returncode


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--execute-notebook":
        sys.exit(execute_notebook(Path(sys.argv[2]).resolve()))
    if len(sys.argv) == 3 and sys.argv[1] == "--warm":
        sys.exit(serve_warm(sys.argv[2]))
    sys.exit(supervise(Path(sys.argv[1]).resolve()))
