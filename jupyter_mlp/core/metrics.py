"""A job's reported metrics: the file `jupyter_mlp.report` writes, read into `Job.metrics`.

Each watch round asks the backend for what a started job's metrics file holds past the bytes
read before (a local file's end, a Cloud Storage object's size), so an unchanged file costs one
look and is never read again; a job that ended is read to the end before its end is stored.
What was read stays in memory: a server started later reads a job's file once from its start.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from ..backends.base import Backend, Observation, Tracked
from ..report import METRICS_FILE
from .models import MAX_METRIC_POINTS, MetricPoint

if TYPE_CHECKING:
    from .offload import Offload
    from .store import JobStore

__all__ = ["MAX_READ_BYTES", "METRICS_FILE", "FileTail", "MetricsFollower", "merged", "parse"]

#: The most bytes of a metrics file one look reads; a longer file is read over several looks.
MAX_READ_BYTES = 8 * 1024 * 1024

Metrics = dict[str, list[MetricPoint]]


@dataclass(frozen=True)
class FileTail:
    """What a file holds from a byte offset on: `data` starts at byte `start`, which is the
    offset asked for, or 0 when the file is shorter than that (it was written anew)."""

    start: int
    data: bytes


def parse(data: bytes) -> tuple[Metrics, int]:
    """The points of the whole lines of `data` by metric, and the bytes those lines take (a
    last line still being written is left for the next read). A malformed line, or a value
    that is not a finite number, is skipped."""
    end = data.rfind(b"\n") + 1
    found: Metrics = {}
    for line in data[:end].splitlines():
        point = _point(line)
        if point is not None:
            found.setdefault(point[0], []).append(point[1])
    return found, end


def _point(line: bytes) -> tuple[str, MetricPoint] | None:
    try:
        record = json.loads(line)
        name, value, step = record["metric"], float(record["value"]), record.get("step")
        at = datetime.fromisoformat(record["at"]) if record.get("at") else None
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if not isinstance(name, str) or not name or not math.isfinite(value):
        return None
    if step is not None and (isinstance(step, bool) or not isinstance(step, int)):
        return None
    return name, MetricPoint(value=value, step=step, at=at)


def merged(known: Metrics, new: Metrics) -> Metrics:
    """`known` with `new` after it, each metric thinned to at most `MAX_METRIC_POINTS`."""
    names = [*known, *(name for name in new if name not in known)]
    return {name: thinned([*known.get(name, []), *new.get(name, [])]) for name in names}


def thinned(points: list[MetricPoint]) -> list[MetricPoint]:
    """At most `MAX_METRIC_POINTS` points: past it, every other point of the older half is
    dropped (the first kept), so the recent steps stay whole and the early ones sparse."""
    while len(points) > MAX_METRIC_POINTS:
        half = len(points) // 2
        points = points[:half:2] + points[half:]
    return points


class MetricsFollower:
    """Follows the metrics files of the started jobs of every backend, into the store."""

    def __init__(self, store: JobStore, offload: Offload, log: logging.Logger):
        self.store = store
        self.offload = offload
        self.log = log
        # Job id: (bytes of its file read, the metrics they held, its backend).
        self._read: dict[str, tuple[int, Metrics, str]] = {}

    async def follow(
        self,
        backend: Backend[Any],
        started: list[Tracked[Any]],
        seen: Mapping[str, Observation | Exception],
    ) -> None:
        """Read what the files of a backend's started jobs gained, given what its round `seen`
        of each (an Observation, or the error met: that job's file waits for the next round).
        A job seen ended is read to the end of its file, then forgotten."""
        reads = []
        for item in started:
            result = seen.get(item.job.id)
            if isinstance(result, Observation):  # not an error met: that waits a round
                ended = result.state is not None and result.state.terminal
                reads.append(self._follow(backend, item, ended))
        await asyncio.gather(*reads)
        # A job no longer started here (deleted meanwhile) is forgotten too.
        ids = {t.job.id for t in started}
        for job_id in [i for i, (_, _, b) in self._read.items() if b == backend.name]:
            if job_id not in ids:
                del self._read[job_id]

    async def _follow(self, backend: Backend[Any], tracked: Tracked[Any], ending: bool) -> None:
        job_id = tracked.job.id
        try:
            changed = False
            while await self._read_more(backend, tracked):
                changed = True
                if not ending:  # the rest comes with the next rounds
                    break
            if changed:
                metrics = self._read[job_id][1]
                await self.offload.run(partial(self.store.set_fields, job_id, metrics=metrics))
        except Exception as exc:  # a file not readable now is read again next round
            self.log.info("jupyter-mlp: the metrics of job %s could not be read: %s", job_id, exc)
        if ending:
            self._read.pop(job_id, None)

    async def _read_more(self, backend: Backend[Any], tracked: Tracked[Any]) -> bool:
        """Read what the job's file gained; True when it gave whole lines."""
        offset, known, _ = self._read.get(tracked.job.id, (0, {}, backend.name))
        tail = await backend.read_metrics(tracked, offset, MAX_READ_BYTES)
        if tail is None:
            return False
        if tail.start != offset:  # written anew: what it holds now is all there is
            known = {}
        points, used = parse(tail.data)
        if not used:
            return False
        self._read[tracked.job.id] = (tail.start + used, merged(known, points), backend.name)
        return True
