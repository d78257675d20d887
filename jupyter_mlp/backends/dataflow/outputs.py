"""What a Dataflow job leaves: its page in the Cloud console, and what its args name as its
outputs (files under the job's folder are listed; gs:// ones are the workers')."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...jobfiles import etl

OUTPUT_FILES_LISTED = 200


def outputs_of(args: list[str], folder: Path, console_page: str | None) -> list[dict[str, Any]]:
    """The outputs of a job run with `args` from `folder`; its console page once it has one."""
    outputs: list[dict[str, Any]] = []
    if console_page is not None:
        outputs.append(
            {"name": "dataflow_job", "uri": console_page, "type": "link", "exists": True}
        )
    for name, value in etl.output_args(args):
        if "://" in value:  # written by the workers; listing it would need credentials
            outputs.append({"name": name, "uri": value, "type": "prefix", "exists": None})
            continue
        path = folder / value
        found = sorted(path.parent.glob(path.name + "*")) if path.parent.is_dir() else []
        outputs.append(
            {
                "name": name,
                "path": str(path),
                "type": "prefix",
                "exists": bool(found),
                "files": [p.name for p in found[:OUTPUT_FILES_LISTED]],
            }
        )
    return outputs
