"""Ctrl-C while `mesh-rollout local` runs: the first stops the running execution, a second quits at once."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from mesh_rollout_local.runner import OfflineAccount


class CtrlC:
    """What Ctrl-C does during an offline command: while runs go on (`stops`), the first Ctrl-C stops the running
    execution as StopExecution would (the run then ends ABORTED, is reported and dumped) and a second one
    interrupts at once; while the approval prompt reads the terminal (`prompting`), it does not wait for Enter."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.prompt_open = False  # the approval prompt is reading the terminal

    @contextmanager
    def stops(self, account: OfflineAccount) -> Iterator[Callable[[], bool]]:
        """SIGINT handled as above while the block runs. Yields whether Ctrl-C was pressed."""

        def on_sigint(signum: int, frame: Any) -> None:
            if account.stop_requested:
                raise KeyboardInterrupt
            account.stop_requested = True
            print("\n  ^C: stopping the execution (Ctrl-C again to quit at once)", file=self.out, flush=True)
            if self.prompt_open:
                raise KeyboardInterrupt

        previous = signal.signal(signal.SIGINT, on_sigint)
        try:
            yield lambda: account.stop_requested
        finally:
            signal.signal(signal.SIGINT, previous)

    @contextmanager
    def prompting(self) -> Iterator[None]:
        """The approval prompt reads the terminal while the block runs."""
        self.prompt_open = True
        try:
            yield
        finally:
            self.prompt_open = False
