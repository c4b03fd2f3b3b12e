"""One pipeline run per working copy: an exclusive advisory lock on a file (flock), which the kernel releases when
its holder exits, however it exits, so a crashed run never blocks the next one."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tasks.core.errors import PipelineError


class LockBusy(PipelineError):
    """Another run held the lock for longer than the caller was willing to wait."""


@contextmanager
def exclusive(path: Path, wait_seconds: float, holder: str, poll_seconds: float = 0.5,
              on_wait: Callable[[str], None] = lambda _: None) -> Iterator[None]:
    """Hold `path` exclusively, waiting up to `wait_seconds` for the current holder (named in the error); `on_wait`
    hears once who holds it when the wait starts."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait_seconds
        waited = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                current = path.read_text().strip() or "unknown"
                if time.monotonic() >= deadline:
                    raise LockBusy(f"another pipeline run holds {path} in this working copy ({current}); "
                                   f"waited {wait_seconds:g} s") from None
                if not waited:
                    on_wait(current)
                    waited = True
                time.sleep(poll_seconds)
        os.ftruncate(fd, 0)
        os.write(fd, f"{holder}, pid {os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)
