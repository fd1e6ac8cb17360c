"""imagebank.timing: phases charged their own time, only while a caller collects.

The clock is a fake one the tests move by hand, so nothing here depends on how fast it runs.
"""

import pytest

from imagebank import timing


@pytest.fixture
def clock(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(timing.time, "perf_counter", lambda: now[0])

    def advance(seconds: float) -> None:
        now[0] += seconds

    return advance


def test_a_phase_inside_another_is_charged_its_own_time_only(clock):
    with timing.collected() as collected:
        with timing.phase("database"):
            clock(1)
            with timing.phase("store objects"):
                clock(5)
            clock(2)
        clock(100)  # in no phase: charged to none
    assert dict(collected.seconds) == {"database": 3, "store objects": 5}
    assert dict(collected.entered) == {"database": 1, "store objects": 1}


def test_a_phase_left_by_an_exception_stops_its_clock(clock):
    with timing.collected() as collected:
        with pytest.raises(ValueError), timing.phase("prepare"):
            clock(4)
            raise ValueError("a damaged file")
        clock(10)
        with timing.phase("prepare"):
            clock(1)
    assert dict(collected.seconds) == {"prepare": 5}
    assert collected.entered["prepare"] == 2


def test_a_phase_as_a_decorator(clock):
    @timing.phase("writer")
    def write():
        clock(2)
        return "written"

    with timing.collected() as collected:
        assert write() == "written"
        assert write() == "written"
    assert dict(collected.seconds) == {"writer": 4}


def test_nothing_is_measured_unless_a_caller_collects(clock):
    with timing.phase("database"):
        clock(1)
    with timing.collected() as collected:
        pass
    with timing.phase("database"):
        clock(1)
    assert dict(collected.seconds) == {}
