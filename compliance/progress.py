"""How long-running library calls report progress, without knowing who shows it.

Library code (update, index build, batch screening, order checks) takes a `Progress` and calls
it; the CLI passes a rich progress bar on a terminal (compliance/cli/progress_bars.py) and
everything else gets `NO_PROGRESS`, which does nothing.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def start(self, key: str, description: str, total: float | None = None) -> None:
        """Begin task `key` (unique per call); `total` None when the size is unknown."""

    def advance(self, key: str, amount: float = 1) -> None: ...

    def update(
        self,
        key: str,
        *,
        completed: float | None = None,
        total: float | None = None,
        description: str | None = None,
    ) -> None: ...

    def finish(self, key: str) -> None: ...


class NoProgress:
    def start(self, key: str, description: str, total: float | None = None) -> None:
        pass

    def advance(self, key: str, amount: float = 1) -> None:
        pass

    def update(
        self,
        key: str,
        *,
        completed: float | None = None,
        total: float | None = None,
        description: str | None = None,
    ) -> None:
        pass

    def finish(self, key: str) -> None:
        pass


NO_PROGRESS: Progress = NoProgress()
