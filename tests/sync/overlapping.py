"""Two writers of one connection at once, in the interleaving that double counts when nothing
serialises them: the first pauses inside its write transaction (its reads done, its rows
written, not committed) until the second is waiting for a lock or done; then both finish."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from metricx.db import get_engine

TIMEOUT_S = 60


def waiting_for_a_lock() -> bool:
    """Whether some transaction waits for a lock (an advisory one, or a row another holds)."""
    with get_engine().connect() as conn:
        return (
            conn.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar_one() > 0
        )


class FirstWriterPauses:
    """`pause()` is called by a writer inside its transaction: the first call holds until
    `run` lets it go; later calls (the second writer's) pass straight through."""

    def __init__(self) -> None:
        self._reached = threading.Event()
        self._go = threading.Event()
        self._calls = 0
        self._lock = threading.Lock()

    def pause(self) -> None:
        with self._lock:
            self._calls += 1
            first = self._calls == 1
        if first:
            self._reached.set()
            self._go.wait(TIMEOUT_S)

    def run(self, first: Callable[[], Any], second: Callable[[], Any]) -> tuple[Any, Any]:
        """Run `first` until it pauses, then `second` until it waits or ends, then both to the
        end; returns their results (an exception is re-raised)."""
        results: dict[str, Any] = {}

        def capture(name: str, work: Callable[[], Any]) -> Callable[[], None]:
            def target() -> None:
                try:
                    results[name] = work()
                except BaseException as error:  # handed to the test's thread below
                    results[name] = error

            return target

        threads = {
            name: threading.Thread(target=capture(name, work), daemon=True)
            for name, work in (("first", first), ("second", second))
        }
        threads["first"].start()
        assert self._reached.wait(TIMEOUT_S), "the first writer never reached its pause"
        threads["second"].start()
        deadline = time.monotonic() + TIMEOUT_S
        while threads["second"].is_alive() and not waiting_for_a_lock():
            assert time.monotonic() < deadline, "the second writer neither waits nor ends"
            time.sleep(0.01)
        self._go.set()
        for thread in threads.values():
            thread.join(TIMEOUT_S)
            assert not thread.is_alive(), "a writer is stuck"
        for value in results.values():
            if isinstance(value, BaseException):
                raise value
        return results["first"], results["second"]
