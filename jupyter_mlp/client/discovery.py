"""Finding the Jupyter server a kernel (or a shell in a folder) belongs to, and its notebook.

Every running Jupyter server leaves a `jpserver-*.json` file in its runtime dir with its URL,
token and root dir; a kernel it started has its connection file (`kernel-<id>.json`) in the
same dir. A server is only taken when it answers with that token and has jupyter-mlp.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_runtime_dir

_KERNEL_FILE = re.compile(r"kernel-(?P<id>[0-9a-fA-F-]+)\.json$")
PROBE_TIMEOUT = 5.0


@dataclass(frozen=True)
class ServerInfo:
    """How to reach a Jupyter server; `root_dir` is unknown for one given only by URL."""

    url: str
    token: str
    root_dir: Path | None = None

    def get(self, path: str, timeout: float = PROBE_TIMEOUT) -> Any:
        """GET a JSON answer from the server; raises URLError/HTTPError/ValueError."""
        request = urllib.request.Request(
            self.url.rstrip("/") + "/" + path.lstrip("/"),
            headers={"Authorization": f"token {self.token}"} if self.token else {},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"null")

    def has_mlp(self) -> bool:
        try:
            self.get("mlp/backends")
        except (OSError, ValueError):
            return False
        return True


def kernel_id_of(connection_file: str) -> str | None:
    match = _KERNEL_FILE.search(os.path.basename(connection_file))
    return match.group("id") if match else None


def _running(runtime_dir: str | None) -> list[ServerInfo]:
    """The servers whose `jpserver-<pid>.json` files are in `runtime_dir` and still run.

    Read here rather than through `jupyter_server.serverapp.list_running_servers`, whose import
    costs seconds at every start of the command line."""
    servers = []
    for path in sorted(Path(runtime_dir or jupyter_runtime_dir()).glob("jpserver-*.json")):
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(info, dict) or "url" not in info or not _alive(info.get("pid")):
            continue
        root = info.get("root_dir") or info.get("notebook_dir")
        servers.append(
            ServerInfo(
                url=info["url"],
                token=info.get("token", ""),
                root_dir=Path(root).expanduser().resolve() if root else None,
            )
        )
    return servers


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def server_for_kernel(connection_file: str) -> ServerInfo | None:
    """The running server (with jupyter-mlp) that owns the kernel of this connection file."""
    kernel_id = kernel_id_of(connection_file)
    if kernel_id is None:
        return None
    for server in _running(os.path.dirname(os.path.abspath(connection_file))):
        try:
            kernels = server.get("api/kernels")
        except (OSError, ValueError):
            continue
        if any(k.get("id") == kernel_id for k in kernels or []) and server.has_mlp():
            return server
    return None


def server_for_directory(directory: Path) -> ServerInfo | None:
    """The running server (with jupyter-mlp) whose root dir holds `directory`, the deepest."""
    directory = directory.resolve()
    candidates = [
        s for s in _running(None) if s.root_dir is not None and directory.is_relative_to(s.root_dir)
    ]
    candidates.sort(key=lambda s: len(s.root_dir.parts) if s.root_dir else 0, reverse=True)
    return next((s for s in candidates if s.has_mlp()), None)


def server_by_url(url: str, token: str) -> ServerInfo:
    """A server named explicitly; its root dir is learnt when it is also running here."""
    wanted = url.rstrip("/")
    for server in _running(None):
        if server.url.rstrip("/") == wanted:
            return ServerInfo(url=server.url, token=token or server.token, root_dir=server.root_dir)
    return ServerInfo(url=url, token=token)


def kernel_notebook(server: ServerInfo, kernel_id: str) -> Path | None:
    """The file of the notebook whose session runs `kernel_id` (through GET /api/sessions)."""
    if server.root_dir is None:
        return None
    try:
        sessions = server.get("api/sessions")
    except (OSError, ValueError):
        return None
    for session in sessions or []:
        if (session.get("kernel") or {}).get("id") == kernel_id and session.get("path"):
            path = server.root_dir / session["path"]
            if path.suffix == ".ipynb":
                return path
    return None
