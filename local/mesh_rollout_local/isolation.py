"""Give each in-process Lambda handler its own environment and output, as its own process would have on AWS.

Handlers read their configuration from `os.environ` and print metrics to stdout. Swapping the process-wide
`os.environ` (or `sys.stdout`) around each call is a race: moto's Step Functions interpreter runs Map and
Parallel branches in worker threads that read `os.environ` while a handler runs (to build boto3 clients,
among others), and they would see a half-cleared or foreign environment. Here `os.environ` and
`sys.stdout`/`sys.stderr` become views that resolve per thread: the thread running a handler sees its
function's environment and output; every other thread sees the process's own, which never changes.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import IO, Any


class ThreadEnviron(MutableMapping[str, str]):
    """`os.environ` as each thread sees it: a private copy while the thread runs a handler, else the process's."""

    def __init__(self, process: MutableMapping[str, str]) -> None:
        self.process = process
        self._local = threading.local()

    def _current(self) -> MutableMapping[str, str]:
        private: MutableMapping[str, str] | None = getattr(self._local, "environ", None)
        return self.process if private is None else private

    def __getitem__(self, key: str) -> str:
        return self._current()[key]

    def __setitem__(self, key: str, value: str) -> None:
        self._current()[key] = value

    def __delitem__(self, key: str) -> None:
        del self._current()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._current()))

    def __len__(self) -> int:
        return len(self._current())

    def copy(self) -> dict[str, str]:  # os.environ has it, and botocore calls it
        return dict(self._current())

    @contextmanager
    def private(self, variables: dict[str, str]) -> Iterator[None]:
        """In this thread only: the process environment plus `variables`, as a Lambda function's is."""
        previous = getattr(self._local, "environ", None)
        self._local.environ = {**self.process, **variables}
        try:
            yield
        finally:
            self._local.environ = previous


class ThreadStream:
    """A text stream that writes, in a thread that redirected it, to that thread's target."""

    def __init__(self, process: IO[str]) -> None:
        self.process = process
        self._local = threading.local()

    def _current(self) -> IO[str]:
        target: IO[str] | None = getattr(self._local, "target", None)
        return self.process if target is None else target

    def write(self, text: str) -> int:
        return self._current().write(text)

    def flush(self) -> None:
        self._current().flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._current(), name)

    @contextmanager
    def redirected(self, target: IO[str]) -> Iterator[None]:
        previous = getattr(self._local, "target", None)
        self._local.target = target
        try:
            yield
        finally:
            self._local.target = previous


class HandlerIsolation:
    """Install the per-thread views of os.environ, sys.stdout and sys.stderr for as long as it is entered."""

    def __init__(self) -> None:
        self.environ: ThreadEnviron | None = None
        self.streams: list[tuple[str, ThreadStream]] = []

    def __enter__(self) -> HandlerIsolation:
        self.environ = ThreadEnviron(os.environ)
        os.environ = self.environ  # type: ignore[assignment]  # noqa: B003 - a view, not a clear; os.getenv reads it too
        for name in ("stdout", "stderr"):
            stream = ThreadStream(getattr(sys, name))
            setattr(sys, name, stream)
            self.streams.append((name, stream))
        return self

    def __exit__(self, *exc: object) -> None:
        for name, stream in reversed(self.streams):
            if getattr(sys, name) is stream:
                setattr(sys, name, stream.process)
        self.streams.clear()
        if self.environ is not None and os.environ is self.environ:
            os.environ = self.environ.process  # type: ignore[assignment]  # noqa: B003
        self.environ = None

    @contextmanager
    def handler(self, variables: dict[str, str], output: IO[str] | None) -> Iterator[None]:
        """Run the block as a Lambda handler: its own environment; its prints to `output` (if given)."""
        assert self.environ is not None, "enter HandlerIsolation first"
        with self.environ.private(variables):
            if output is None:
                yield
                return
            stdout, stderr = (stream for _, stream in self.streams)
            with stdout.redirected(output), stderr.redirected(output):
                yield
