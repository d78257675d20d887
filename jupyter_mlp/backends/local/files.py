"""What a local job leaves in its folder, read safely: the log by byte cursor, the outputs,
the metrics file as it grows.

All block (they touch the disk) and are run off the event loop. None follows a link out of
the job's folder: a job must not be able to show the server's other files through them.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from typing import Any

from ...core.metrics import FileTail
from ...jobfiles.bundle import JobFolder
from ..base import LogChunk

OUTPUT_FILES_LISTED = 200
OUTPUT_WALK_MAX_ENTRIES = 20_000
OUTPUT_WALK_MAX_SECONDS = 1.0


def read_local_log(
    folder: JobFolder, offset: int, limit: int, tail: int | None, ended: bool
) -> LogChunk:
    """Up to `limit` bytes of the job's log from byte `offset` (or about the last `tail`),
    never split inside a UTF-8 character while the job runs, nor inside a line where the
    limit cut it; complete once it ended."""
    try:
        fd = _open_inside(folder.log, folder.path)
    except FileNotFoundError:
        return _chunk("", offset, offset, 0, ended)
    except OSError as exc:
        return _chunk("", offset, offset, 0, True, f"the log cannot be read: {exc}")
    with os.fdopen(fd, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if tail is not None:
            offset, limit = max(0, size - tail), tail
        offset = min(offset, size)
        handle.seek(offset)
        data = handle.read(min(limit, size - offset))
    if tail is not None:
        # Start on a character boundary: skip UTF-8 continuation bytes.
        skip = next((i for i, b in enumerate(data[:4]) if b & 0xC0 != 0x80), 0)
        offset, data = offset + skip, data[skip:]
    at_end = offset + len(data) >= size
    if not at_end and tail is None and b"\n" in data:
        # A read the limit cut ends at its last whole line: the log's readers take lines
        # whole (the clean view leaves some out), and the rest comes with the next read.
        data = data[: data.rindex(b"\n") + 1]
    if not (ended and at_end):
        # The rest of a character split by this read comes with the next one. An ended job's
        # log has no next read: what is there is shown as it is.
        data = _trim_partial_utf8(data)
    next_offset = offset + len(data)
    return _chunk(
        data.decode("utf-8", errors="replace"), offset, next_offset, size, ended and at_end
    )


def read_file_tail(path: Path, folder: Path, offset: int, limit: int) -> FileTail | None:
    """Up to `limit` bytes of a file of the job's folder from byte `offset` (from 0 when the
    file is shorter: written anew); None when it is missing, a link, or has no more bytes."""
    try:
        fd = _open_inside(path, folder)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == offset:
            return None
        start = offset if size > offset else 0
        handle.seek(start)
        return FileTail(start, handle.read(limit))


def _chunk(
    text: str, offset: int, next_offset: int, size: int, complete: bool, error: str = ""
) -> LogChunk:
    extra: dict[str, Any] = {"offset": offset, "next_offset": next_offset, "size": size}
    if error:
        extra["error"] = error
    return LogChunk(
        data=text,
        cursor=str(offset),
        next_cursor=str(next_offset),
        complete=complete,
        extra=extra,
    )


def _open_inside(path: Path, folder: Path) -> int:
    """Open a file of the job's folder for reading, refusing a link (anywhere on the way)."""
    if not path.resolve().is_relative_to(folder.resolve()):
        raise PermissionError("it links out of the job's folder; not followed")
    return os.open(path, os.O_RDONLY | os.O_NOFOLLOW)


def _trim_partial_utf8(data: bytes) -> bytes:
    """Drop an incomplete UTF-8 sequence at the end; the next read starts with it whole."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 == 0x80:
            continue  # continuation byte: keep looking for the lead byte
        if byte & 0x80 == 0:
            return data
        needed = 2 if byte & 0xE0 == 0xC0 else 3 if byte & 0xF0 == 0xE0 else 4
        return data if back >= needed else data[:-back]
    return data


def list_local_outputs(
    outputs: dict[str, str], folder: JobFolder, root_dir: Path
) -> list[dict[str, Any]]:
    """Each output as it is on disk now: whether it exists, its size, and for a folder its
    files (the first few, counted up to a cap). Links out of the job's folder are not followed."""
    listed = []
    for name, shown in outputs.items():
        path = Path(shown) if Path(shown).is_absolute() else root_dir / shown
        entry: dict[str, Any] = {"name": name, "path": shown, "exists": False}
        inside = path.resolve().is_relative_to(folder.path.resolve())
        try:
            info = os.lstat(path)
        except OSError:
            info = None
        if info is not None and (stat.S_ISLNK(info.st_mode) or not inside):
            entry.update(type="link", note="links out of the job's folder; not followed")
        elif info is not None and stat.S_ISDIR(info.st_mode):
            entry.update(exists=True, type="directory", **_walk(path))
        elif info is not None:
            entry.update(exists=True, type="file", size=info.st_size)
        else:
            entry.update(type="file", size=0)
        listed.append(entry)
    return listed


def _walk(top: Path) -> dict[str, Any]:
    """Files under `top` (not following links, skipping `.mlp`), within a count and time cap."""
    files: list[str] = []
    count = size = seen = 0
    truncated = False
    deadline = time.monotonic() + OUTPUT_WALK_MAX_SECONDS
    pending = [top]
    while pending and not truncated:
        current = pending.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            seen += 1
            if seen > OUTPUT_WALK_MAX_ENTRIES or time.monotonic() > deadline:
                truncated = True
                break
            if entry.name == ".mlp":
                continue
            if entry.is_dir(follow_symlinks=False):
                pending.append(Path(entry.path))
            elif entry.is_file(follow_symlinks=False):
                count += 1
                size += entry.stat(follow_symlinks=False).st_size
                if len(files) < OUTPUT_FILES_LISTED:
                    files.append(Path(entry.path).relative_to(top).as_posix())
    result: dict[str, Any] = {"size": size, "files": sorted(files), "file_count": count}
    if truncated:
        result["truncated"] = True
        result["note"] = (
            f"listing stopped after {min(seen, OUTPUT_WALK_MAX_ENTRIES):,} entries; "
            "counts and size are of those seen"
        )
    return result
