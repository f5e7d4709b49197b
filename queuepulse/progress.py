"""A progress bar for the long inputs of ``replay`` and ``import-queue-log``."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

PROGRESS_FROM_BYTES = 20_000_000
"""Inputs smaller than this are read too quickly to need a bar."""


class ProgressBar:
    """``with ProgressBar(label, console) as bar``: a transient bar that appears when a
    large input reports its progress (``bar(done, total)``, in bytes) and is gone after."""

    def __init__(self, label: str, console: Console,
                 from_bytes: int = PROGRESS_FROM_BYTES) -> None:
        self._label = label
        self._console = console
        self._from_bytes = from_bytes
        self._shown: tuple[Progress, TaskID] | None = None

    def __call__(self, done: int, total: int) -> None:
        if total < self._from_bytes:
            return
        if self._shown is None:
            bar = Progress(TextColumn(self._label), BarColumn(),
                           TextColumn("{task.percentage:>3.0f}%"), TimeRemainingColumn(),
                           console=self._console, transient=True)
            bar.start()
            self._shown = (bar, bar.add_task(self._label, total=total))
        bar, task = self._shown
        bar.update(task, completed=done)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._shown is not None:
            self._shown[0].stop()
