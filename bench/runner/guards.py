"""Guards around a run: Ctrl-C and SIGTERM end it as "interrupted", and an image is launched from
a private copy whose sha256 is checked at launch."""

from __future__ import annotations

import contextlib
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.errors import ImageError
from bench.images import ImageEntry, sha256_file


class RunInterrupted(KeyboardInterrupt):
    """A run stopped by Ctrl-C or SIGTERM; run.json says "interrupted" and how to resume."""

    def __init__(self, run_id: str):
        super().__init__(run_id)
        self.run_id = run_id

    def __str__(self) -> str:
        return f"run {self.run_id} interrupted; what was measured is kept: bench run --resume {self.run_id}"


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM ends a run like Ctrl-C (the drivers stop their emulators in their finally blocks)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


@contextlib.contextmanager
def verified_copy(entry: ImageEntry) -> Iterator[Path]:
    """A private copy of the image whose sha256 is checked against the manifest at launch time, so
    that an ELF replaced after the run's checks can never be what runs."""
    with tempfile.TemporaryDirectory(prefix="bench-image-") as d:
        copy = Path(d) / entry.path.name
        shutil.copyfile(entry.path, copy)
        digest = sha256_file(copy)
        if digest != entry.sha256:
            raise ImageError(f"{entry.path} changed after the run's checks (sha256 {digest[:12]}.. != manifest "
                             f"{entry.sha256[:12]}..); it was not started. Rebuild with `bench images build`")
        yield copy
