"""Where an import's time goes, phase by phase, for bench/ingest.py. Nothing is measured, and a
phase costs one context-variable read, unless a caller collects:

    with timing.collected() as clock:
        run_ingest(...)
    clock.seconds  # {"prepare": 3.1, "database": 1.2, ...}

Phases nest, and each counts only its own time: the storage writes inside a database phase are
charged to storage, not to the database. Time spent in no phase is not charged to any.
"""

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class PhaseClock:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.entered: dict[str, int] = defaultdict(int)
        self._open: list[str] = []
        self._since = time.perf_counter()

    def _charge_open_phase(self) -> None:
        now = time.perf_counter()
        if self._open:
            self.seconds[self._open[-1]] += now - self._since
        self._since = now

    def enter(self, name: str) -> None:
        self._charge_open_phase()
        self._open.append(name)
        self.entered[name] += 1

    def leave(self) -> None:
        self._charge_open_phase()
        self._open.pop()


_clock: ContextVar[PhaseClock | None] = ContextVar("ingest_phase_clock", default=None)


@contextmanager
def collected() -> Iterator[PhaseClock]:
    clock = PhaseClock()
    token = _clock.set(clock)
    try:
        yield clock
    finally:
        _clock.reset(token)


@contextmanager
def phase(name: str) -> Iterator[None]:
    clock = _clock.get()
    if clock is None:
        yield
        return
    clock.enter(name)
    try:
        yield
    finally:
        clock.leave()
