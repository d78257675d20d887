"""A Vertex AI notebook job's progress ("cell 3 of 7"): the runner in the job's container keeps
it in the status file in the job's output folder, read when the server polls, and only when
that file changed (its Cloud Storage generation, kept in the job's runtime) since the last read.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from ...core.models import Progress
from ..base import Observation, Tracked
from ..gcp.errors import google_message
from .outputs import VertexOutputs

RUNNING = "JOB_STATE_RUNNING"


def observe_progress(
    outputs: VertexOutputs, tracked: Tracked[Any], raw: str, seen: Observation
) -> None:
    """Add to `seen` a running (or just ended) notebook job's progress when its status file
    changed and tells a new one, with the executed notebook copied into the job's folder as far
    as it ran, so it opens while the job runs. A sweep's trials keep their own, elsewhere."""
    job = tracked.job
    ended = seen.state is not None and seen.state.terminal
    if not (raw == RUNNING or ended) or job.spec.sweep is not None:
        return
    if "executed_notebook" not in job.outputs:  # a script job has no progress
        return
    bucket, name = outputs.status_blob(tracked)
    runtime: Any = seen.runtime or tracked.runtime  # a VertexRuntime
    try:
        blob = outputs.cloud.storage().bucket(bucket).get_blob(name)
        # Taken before the download, which sets the blob's fields from its answer's headers.
        generation = blob.generation if blob is not None else None
        if generation is None or generation == runtime.status_generation:
            return
        status = json.loads(blob.download_as_bytes())
    except Exception as exc:  # unreachable, or torn: the next poll reads it again
        outputs.log.info("jupyter-mlp: no progress of %s now: %s", job.id, google_message(exc))
        return
    seen.runtime = runtime.model_copy(update={"status_generation": generation})
    progress = _progress_of(status)
    if progress is not None and progress != job.progress:
        seen.progress = progress
        if not ended:  # an ended job's notebook is copied as it ends
            outputs.copy_notebook(tracked)


def _progress_of(status: Any) -> Progress | None:
    told = status.get("progress") if isinstance(status, dict) else None
    if not isinstance(told, dict):
        return None
    try:
        return Progress.model_validate(told)
    except ValidationError:
        return None
