"""`jupyter_mlp.report(accuracy=0.93, step=3)`: a job's metrics, one convention everywhere.

Called in a job (on this machine, on Vertex AI, in a sweep's trial), each report is appended to
the job's metrics file, `mlp-metrics.jsonl` in its output folder (`MLP_OUTPUT_DIR`), one JSON
line per metric, which the server reads into the job; and to the file cloudml-hypertune writes
(`CLOUD_ML_HP_METRIC_FILE`), in its shape and keeping its last 100 entries, from which Vertex AI
tuning and local sweeps read a trial's metric. Outside a job it prints what it would report.

It needs only the standard library: bundles ship this file as the package `jupyter_mlp` to jobs
whose Python lacks jupyter-mlp (a Vertex AI container, another environment). It runs on the
job's Python (3.10 on Vertex AI's prebuilt images): keep it to that.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["report"]

#: The job's metrics file, in its output folder; read by the server.
METRICS_FILE = "mlp-metrics.jsonl"
#: Where cloudml-hypertune writes when CLOUD_ML_HP_METRIC_FILE names no file.
HYPERTUNE_DEFAULT_FILE = "/tmp/hypertune/output.metrics"
#: The entries cloudml-hypertune keeps (the oldest are dropped past it).
HYPERTUNE_KEPT = 100
# The keys of a cloudml-hypertune entry that are not metrics.
_HYPERTUNE_KEYS = ("timestamp", "trial", "global_step", "checkpoint_path")


def report(step: int | None = None, **metrics: float) -> None:
    """Report metrics of the job at a training step: `report(accuracy=0.93, loss=0.2, step=3)`.

    Every report is kept with the job (the last value of each metric shows in the job list).
    Values must be numbers; a value that is not is a TypeError naming its metric."""
    values = _checked(step, metrics)
    output = os.environ.get("MLP_OUTPUT_DIR")
    if not output:
        shown = ", ".join(f"{name}={value}" for name, value in values.items())
        at = "" if step is None else f" at step {step}"
        print(f"[mlp] not in a job: would report {shown}{at}", flush=True)
        return
    if _is_chief():  # one writer per file: the other replicas of a job report nothing there
        _append_metrics(os.path.join(output, METRICS_FILE), values, step)
    _write_hypertune(values, step)


def _checked(step: object, metrics: Mapping[str, object]) -> dict[str, float]:
    # Imported here, as the other modules these functions use: `import jupyter_mlp` pays nothing.
    import numbers

    if not metrics:
        raise TypeError("report() needs at least one metric, as in report(accuracy=0.93)")
    if step is not None and (isinstance(step, bool) or not isinstance(step, numbers.Integral)):
        raise TypeError(f"report(): step must be a whole number, not {type(step).__name__}")
    values: dict[str, float] = {}
    for name, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(
                f"report(): metric '{name}' must be a number, not {type(value).__name__} "
                "(a tensor's value is its .item())"
            )
        if name in _HYPERTUNE_KEYS:
            raise TypeError(f"report(): '{name}' names a field of the metric files, not a metric")
        values[name] = float(value)
    return values


def _append_metrics(path: str, values: dict[str, float], step: int | None) -> None:
    import json
    from datetime import datetime, timezone

    at = datetime.now(timezone.utc).isoformat()
    lines = "".join(
        json.dumps({"metric": name, "value": value, "step": _step(step), "at": at}) + "\n"
        for name, value in values.items()
    )
    # On Vertex AI's Cloud Storage FUSE mount a folder exists only once something is made in it.
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(lines)


def _write_hypertune(values: dict[str, float], step: int | None) -> None:
    """Add an entry to the cloudml-hypertune file, as its `report_hyperparameter_tuning_metric`
    would (one entry for all the metrics of a report), keeping its last 100 entries."""
    import json
    import time

    path = os.environ.get("CLOUD_ML_HP_METRIC_FILE") or HYPERTUNE_DEFAULT_FILE
    entry = {
        "timestamp": time.time(),
        "trial": os.environ.get("CLOUD_ML_TRIAL_ID", "0"),
        **{name: str(value) for name, value in values.items()},
        "global_step": str(_step(step) or 0),
    }
    try:
        with open(path, encoding="utf-8") as handle:
            kept = handle.read().splitlines()
    except OSError:  # the first report
        kept = []
    kept = [line for line in kept if line.strip()][-(HYPERTUNE_KEPT - 1) :]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("".join(f"{line}\n" for line in [*kept, json.dumps(entry)]))


def _step(step: int | None) -> int | None:
    return None if step is None else int(step)


def _is_chief() -> bool:
    """Whether this replica is the job's chief: Vertex AI's CLUSTER_SPEC says `workerpool0`, or
    there is no cluster (a job on this machine)."""
    import json

    spec = os.environ.get("CLUSTER_SPEC")
    if not spec:
        return True
    try:
        task = json.loads(spec).get("task") or {}
    except (ValueError, AttributeError):  # unreadable: one writer is better than none
        return True
    return bool(task.get("type", "workerpool0") == "workerpool0")
