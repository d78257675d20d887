"""When a schedule fires: its next fire time, and what became due while no one looked.

Pure functions of a schedule, the time up to which its fires were dealt with (its horizon) and
now; the clock (`schedule_clock.py`) acts on what they say.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .schedule_models import Schedule, catchup_window, fire_times, in_window

# A fire found this late is still on time, whatever the catch-up window (a busy server, a
# schedule with no catch-up at all).
ON_TIME = timedelta(seconds=60)
# Most missed fire times recorded in one go (a minutely schedule of a server down for a week):
# the latest ones; older ones are not recorded.
MOST_MISSED = 1000
# How far back fire times are looked for (past the longest catch-up window, 7 days): a start in
# the distant past is not walked through minute by minute.
LOOKBACK = timedelta(days=8)


@dataclass
class Due:
    """What came due after a horizon: the fire to run now (if any) and those missed."""

    run: datetime | None = None
    missed: list[datetime] = field(default_factory=list)
    # Whether any fire time passed (in the window or not): the horizon moves on.
    passed: bool = False


def next_fire(schedule: Schedule, after: datetime) -> datetime | None:
    """The schedule's next fire time after `after` within its window; None when paused or
    past its end."""
    if schedule.paused:
        return None
    start = after
    if schedule.start_at is not None and schedule.start_at > after:
        start = schedule.start_at - timedelta(microseconds=1)
    try:
        for at in fire_times(schedule.cron, schedule.timezone, start):
            if schedule.end_at is not None and at > schedule.end_at:
                return None
            return at
    except OverflowError:  # no fire before the year 9999
        return None
    return None


def due(schedule: Schedule, horizon: datetime, now: datetime) -> Due:
    """The fire times after `horizon` up to `now`: the latest within the catch-up window (or
    on time) runs, every other is missed. A paused schedule has none."""
    found = Due()
    if schedule.paused:
        return found
    times: deque[datetime] = deque(maxlen=MOST_MISSED + 1)
    for at in fire_times(schedule.cron, schedule.timezone, max(horizon, now - LOOKBACK)):
        if at > now:
            break
        found.passed = True
        if in_window(schedule, at):
            times.append(at)
        elif schedule.end_at is not None and at > schedule.end_at:
            break
    if not times:
        return found
    latest = times.pop()
    if now - latest <= max(catchup_window(schedule), ON_TIME):
        found.run = latest
    else:
        times.append(latest)
    found.missed = list(times)
    return found
