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


def execute_notebook(bundle: Path) -> int:
    """Run the bundle's notebook with papermill; the executed notebook lands in the job folder."""
    import logging

    import papermill

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    output = Path(os.environ.get("MLP_OUTPUT_DIR") or os.getcwd()) / manifest["output_notebook"]
    try:
        papermill.execute_notebook(
            str(bundle / manifest["entrypoint"]),
            str(output),
            parameters=manifest["parameters"],
            kernel_name=manifest["kernel_name"],
            log_output=True,
            progress_bar=False,
            cwd=os.getcwd(),
        )
    except papermill.PapermillExecutionError as exc:
        message = (
            f"cell {exc.cell_index + 1} (In [{exc.exec_count}]) raised {exc.ename}: {exc.evalue}"
        )
        failure = error_file()
        if failure:
            failure.write_text(message, encoding="utf-8")
        print(f"[mlp] {message}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--execute-notebook":
        sys.exit(execute_notebook(Path(sys.argv[2]).resolve()))
    sys.exit(supervise(Path(sys.argv[1]).resolve()))
