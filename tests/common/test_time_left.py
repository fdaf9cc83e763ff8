"""Time left of a run, estimated from its progress fractions phase by phase."""

from __future__ import annotations

from widgets.common.time_left import TimeLeft, duration


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_durations_read_as_briefly_as_a_reader_needs():
    assert [duration(s) for s in (4.2, 89, 600, 7200)] == ["4 s", "89 s", "10 min", "2.0 h"]


def test_a_young_run_says_nothing_then_how_long_it_has_taken_without_fractions():
    clock = Clock()
    times = TimeLeft(clock)
    times.report(None)
    clock.now += 1
    assert times.text() == ""
    clock.now += 119
    assert times.text() == "2 min so far"


def test_the_estimate_uses_the_current_phase_only_and_counts_down_between_reports():
    clock = Clock()
    times = TimeLeft(clock)
    times.report(None)  # a slow neighbour search: 10 minutes
    clock.now += 600
    times.report(0.0)
    clock.now += 2
    times.report(0.02)
    assert times.text() == "10 min so far", "two seconds are not evidence enough"
    clock.now += 8
    times.report(0.2)  # 10 s for a fifth: 40 s left, not the 40 minutes a whole-run rate says
    assert times.text() == "about 40 s left"
    clock.now += 30
    assert times.text() == "about 10 s left"
    times.restart()
    assert times.text() == "", "a new run starts from nothing"
