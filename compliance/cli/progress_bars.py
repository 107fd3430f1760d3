"""Progress bars on stderr for the long commands; shown only on a terminal and without --quiet."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from compliance.progress import NO_PROGRESS, Progress


class RichProgress:
    """A `Progress` drawn with rich.progress: description, bar, counts, rate and time left."""

    def __init__(self, bar: Any) -> None:
        self._bar = bar
        self._tasks: dict[str, Any] = {}

    def start(self, key: str, description: str, total: float | None = None) -> None:
        self._tasks[key] = self._bar.add_task(description, total=total)

    def advance(self, key: str, amount: float = 1) -> None:
        if key in self._tasks:
            self._bar.advance(self._tasks[key], amount)

    def update(
        self,
        key: str,
        *,
        completed: float | None = None,
        total: float | None = None,
        description: str | None = None,
    ) -> None:
        if key not in self._tasks:
            return
        kwargs: dict[str, Any] = {}
        if completed is not None:
            kwargs["completed"] = completed
        if total is not None:
            kwargs["total"] = total
        if description is not None:
            kwargs["description"] = description
        self._bar.update(self._tasks[key], **kwargs)

    def finish(self, key: str) -> None:
        task = self._tasks.get(key)
        if task is not None:
            total = self._bar.tasks[task].total if task < len(self._bar.tasks) else None
            self._bar.update(task, completed=total if total is not None else 1, total=total or 1)


def show_progress(quiet: bool = False) -> bool:
    return not quiet and sys.stderr.isatty()


@contextmanager
def progress_bar(quiet: bool = False) -> Iterator[Progress]:
    """`with progress_bar(quiet) as p:` hands library calls a Progress; NO_PROGRESS when piped."""
    if not show_progress(quiet):
        yield NO_PROGRESS
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        ProgressColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        """Items (rows, bytes, names) per second."""

        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:,.0f}/s" if speed else "", style="progress.data.speed")

    from rich.progress import (
        Progress as Bar,
    )

    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Bar(*columns, console=Console(stderr=True), transient=False) as bar:
        yield RichProgress(bar)
