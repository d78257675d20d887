"""What a Vertex AI job leaves: its output directory in Cloud Storage, the executed notebook
(copied into the job's local folder when it ends), the runner's account of a failure, and the
files that grow while it runs (its metrics)."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...core.metrics import METRICS_FILE, FileTail
from ..base import Tracked
from ..gcp.errors import google_message
from ..gcp.service import GoogleCloud
from .jobs import CONSOLE

OUTPUT_FILES_LISTED = 200
# What the runner in the job's container records: its phase, a notebook's progress, its end.
STATUS_FILE = "status.json"


def output_dir(bucket_path: str, job_id: str) -> str:
    """`gs://<bucket>/<path>/mlp/<job id>/`: where a job's outputs go."""
    return f"gs://{bucket_path}/mlp/{job_id}/"


@dataclass(frozen=True)
class VertexOutputs:
    """The outputs of the jobs of one staging bucket (`bucket_path`: without gs://)."""

    cloud: GoogleCloud
    bucket_path: str
    root_dir: Path
    log: logging.Logger | logging.LoggerAdapter[Any]

    def list_outputs(self, tracked: Tracked[Any]) -> list[dict[str, Any]]:
        """The model and output directories, and the executed notebook of a notebook job."""
        bucket, prefix = self._blob_of(tracked, "")
        error = ""
        try:
            blobs = self.cloud.storage().list_blobs(bucket, prefix=prefix, max_results=2000)
            names = [blob.name for blob in blobs]
        except Exception as exc:
            names, error = [], f"Cloud Storage could not be listed: {google_message(exc)}"
        model = f"{prefix}model/"
        model_files = [n.removeprefix(model) for n in names if n.startswith(model)]
        outputs: list[dict[str, Any]] = [
            {
                "name": "model_dir",
                "uri": f"gs://{bucket}/{model}",
                "console_url": f"{CONSOLE}/storage/browser/{bucket}/{model}",
                "type": "directory",
                "exists": bool(model_files),
                "files": model_files[:OUTPUT_FILES_LISTED],
                "file_count": len(model_files),
            },
            {
                "name": "output_dir",
                "uri": f"gs://{bucket}/{prefix}",
                "console_url": f"{CONSOLE}/storage/browser/{bucket}/{prefix}",
                "type": "directory",
                "exists": bool(names),
            },
        ]
        notebook = self._notebook_name(tracked)
        if notebook is not None:
            outputs.append(self._notebook_output(tracked, notebook, names))
        if error:
            for output in outputs:
                output["error"] = error
        return outputs

    def _notebook_output(
        self, tracked: Tracked[Any], notebook: str, names: list[str]
    ) -> dict[str, Any]:
        if tracked.job.state.terminal and not tracked.runtime.notebook_copied:
            self.copy_notebook(tracked)
        bucket, name = self._blob_of(tracked, notebook)
        local = tracked.folder.path / notebook
        return {
            "name": "executed_notebook",
            "uri": f"gs://{bucket}/{name}",
            "console_url": f"{CONSOLE}/storage/browser/_details/{bucket}/{name}",
            "path": self._shown(local),
            "type": "file",
            "exists": local.exists() or name in names,
        }

    def copy_notebook(self, tracked: Tracked[Any]) -> bool:
        """Copy the executed notebook into the job's local folder; True once it is there."""
        notebook = self._notebook_name(tracked)
        if notebook is None:
            return False
        bucket, name = self._blob_of(tracked, notebook)
        target = tracked.folder.path / notebook
        try:
            self.cloud.storage().bucket(bucket).blob(name).download_to_filename(str(target))
        except Exception as exc:  # not written (the job failed early), or not readable
            self.log.info("jupyter-mlp: no executed notebook for %s: %s", tracked.job.id, exc)
            target.unlink(missing_ok=True)
            return False
        return True

    def failure_message(self, tracked: Tracked[Any], vertex_message: str) -> str:
        """Vertex's message, after the runner's own account of the failure if it left one."""
        bucket, name = self.status_blob(tracked)
        try:
            status = json.loads(self.cloud.storage().bucket(bucket).blob(name).download_as_bytes())
        except Exception:  # no status written (the container never started the runner)
            return vertex_message
        told = status.get("message") if isinstance(status, dict) else None
        return f"{told} (Vertex AI: {vertex_message})" if told else vertex_message

    def read_tail(
        self, tracked: Tracked[Any], name: str, offset: int, limit: int
    ) -> FileTail | None:
        """Up to `limit` bytes of a file of the job's output directory from byte `offset` (from
        0 when the object is shorter: written anew); None when it is missing or has no more.
        One metadata request when nothing changed; raises the storage client's errors."""
        bucket, blob_name = self._blob_of(tracked, name)
        blob = self.cloud.storage().bucket(bucket).get_blob(blob_name)
        if blob is None or blob.size is None or blob.size == offset:
            return None
        start = offset if blob.size > offset else 0
        end = min(blob.size, start + limit) - 1
        # That generation's bytes: an object written anew meanwhile is read next round.
        data = blob.download_as_bytes(start=start, end=end, if_generation_match=blob.generation)
        return FileTail(start, data)

    def status_blob(self, tracked: Tracked[Any]) -> tuple[str, str]:
        """(bucket, object name) of the runner's status file."""
        return self._blob_of(tracked, STATUS_FILE)

    def _blob_of(self, tracked: Tracked[Any], name: str) -> tuple[str, str]:
        """(bucket, object name) of `name` in the job's output directory."""
        where = tracked.runtime.output_dir or output_dir(self.bucket_path, tracked.job.id)
        bucket, prefix = where.removeprefix("gs://").split("/", 1)
        return bucket, prefix + name

    def _notebook_name(self, tracked: Tracked[Any]) -> str | None:
        if tracked.job.spec.sweep is not None:  # each trial keeps its own, in <trial id>/
            return None
        try:
            manifest = json.loads((tracked.folder.bundle / "manifest.json").read_text("utf-8"))
        except (OSError, ValueError):
            return None
        name = manifest.get("output_notebook")
        return str(name) if name else None

    def _shown(self, path: Path) -> str:
        """A path relative to the Jupyter root dir when inside it, so it opens in JupyterLab."""
        root = self.root_dir.resolve()
        return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


class ServesOutputs:
    """What a backend serves of its jobs' output directories (`outputs`): their listing and
    their metrics file as it grows."""

    @property
    def outputs(self) -> VertexOutputs:
        raise NotImplementedError

    async def list_outputs(self, tracked: Tracked[Any]) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.outputs.list_outputs, tracked)

    async def read_metrics(self, tracked: Tracked[Any], offset: int, limit: int) -> FileTail | None:
        if tracked.job.spec.sweep is not None:  # each trial reports in a folder of its own
            return None
        read = self.outputs.read_tail
        return await asyncio.to_thread(read, tracked, METRICS_FILE, offset, limit)
