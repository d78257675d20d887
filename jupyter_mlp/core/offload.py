"""Running what blocks (the store, the file system, a backend's SDK) off the event loop.

The manager lives on Jupyter Server's event loop, where nothing may block: store queries, file
walks, bundle writing and folder removal run in a small pool of threads instead. The loop they
were asked from is remembered, so that what happens in a thread can be told on the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

WORKERS = 4


class Offload:
    """A pool of threads for blocking calls, and the event loop they are awaited on."""

    def __init__(self, workers: int = WORKERS):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="jupyter-mlp")
        self.loop: asyncio.AbstractEventLoop | None = None

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """Run a blocking call in the pool and await its result."""
        loop = asyncio.get_running_loop()
        if self.loop is None:
            self.loop = loop  # listeners are told on this loop, whichever thread moved a job
        return await loop.run_in_executor(self._pool, function, *args)

    def on_loop(self, callback: Callable[..., None], *args: Any) -> None:
        """Call `callback` on the loop: at once when on it (or when there is none running),
        else soon, from the thread this is called in."""
        if self.loop is not None and self.loop.is_running():
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is not self.loop:
                self.loop.call_soon_threadsafe(callback, *args)
                return
        callback(*args)

    def soon_threadsafe(self, callback: Callable[[], None]) -> None:
        """Call `callback` soon on the loop, from any thread; nothing once the loop closed."""
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(callback)

    def shutdown(self) -> None:
        """Stop taking calls; those waiting are dropped, those running finish on their own."""
        self._pool.shutdown(wait=False, cancel_futures=True)
