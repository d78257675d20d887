"""Schedules: a job spec plus when it runs, fired on time by the server (or by a cloud).

Time is driven by fire times in the past (a `start_at` before now, caught up at once) rather
than by waiting; one test waits for two real minutes, and the restart tests for the next minute.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import Api, server_manager

from jupyter_mlp.core.models import JobState
from jupyter_mlp.core.schedule_models import Schedule, fire_times
from jupyter_mlp.core.schedule_plan import MOST_MISSED, due, next_fire

QUICK = "print('ran', flush=True)\n"


def ago(seconds: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat()


def fired_minutes_ago(*minutes: int) -> str:
    """An hourly cron that fired those minutes ago (and not again for most of an hour), so a
    test is never overtaken by a fire of its own schedule."""
    now = datetime.now(UTC)
    return ",".join(str((now - timedelta(minutes=m)).minute) for m in minutes) + " * * * *"


async def create(api: Api, **body: Any) -> dict[str, Any]:
    code, schedule = await api.call("POST", "schedules", body=body)
    assert code == 201, schedule
    return schedule  # type: ignore[no-any-return]


async def runs(api: Api, schedule_id: str) -> list[dict[str, Any]]:
    code, page = await api.call("GET", "jobs", schedule_id=schedule_id)
    assert code == 200, page
    return page["jobs"]  # type: ignore[no-any-return]


async def fires(api: Api, schedule_id: str) -> list[dict[str, Any]]:
    code, found = await api.call("GET", "schedules", schedule_id, "fires")
    assert code == 200, found
    return found["fires"]  # type: ignore[no-any-return]


async def until(check: Any, timeout: float = 30) -> Any:
    """Poll an async check until it answers something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.1)


# ----- daylight-saving changes, on fire times and on the clock's plan -----


def schedule_of(cron: str, timezone: str, **fields: Any) -> Schedule:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return Schedule.model_validate(
        {
            "id": "s1",
            "name": "nightly",
            "cron": cron,
            "timezone": timezone,
            "spec": {"source": {"code": "pass"}},
            "overlap": "skip",
            "runs_in": "server",
            "created_at": now,
            "updated_at": now,
            **fields,
        }
    )


def test_a_time_in_the_skipped_hour_fires_once_right_after_the_jump():
    # Berlin skips 02:00-03:00 on 29 March 2026.
    days = list(
        itertools.islice(fire_times("30 2 * * *", "Europe/Berlin", datetime(2026, 3, 28)), 3)
    )
    shown = [at.strftime("%d %H:%M") for at in days]
    assert shown == ["28 02:30", "29 03:00", "30 02:30"]

    nightly = schedule_of("30 2 * * *", "Europe/Berlin")
    before = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    found = due(nightly, before, datetime(2026, 3, 29, 1, 30, tzinfo=UTC))
    assert found.run == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST
    assert found.missed == []


def test_a_time_in_the_repeated_hour_fires_once():
    # Berlin repeats 02:00-03:00 on 25 October 2026.
    after = datetime(2026, 10, 24, 12, tzinfo=UTC)
    days = list(itertools.islice(fire_times("30 2 * * *", "Europe/Berlin", after), 2))
    assert [at.astimezone(UTC) for at in days] == [
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 26, 1, 30, tzinfo=UTC),
    ]
    nightly = schedule_of("30 2 * * *", "Europe/Berlin")
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    # Fired at the first 02:30; the second 02:30 (an hour later) neither runs nor is missed.
    found = due(nightly, first, datetime(2026, 10, 25, 3, 0, tzinfo=UTC))
    assert found.run is None and found.missed == []
    assert next_fire(nightly, first) == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)


def test_fires_missed_beyond_the_catch_up_window_are_missed_and_the_latest_runs():
    hourly = schedule_of("0 * * * *", "UTC", catchup_seconds=1800)
    down = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    found = due(hourly, down, datetime(2026, 5, 1, 12, 10, tzinfo=UTC))
    assert found.run == datetime(2026, 5, 1, 12, tzinfo=UTC)
    assert found.missed == [datetime(2026, 5, 1, h, tzinfo=UTC) for h in (10, 11)]
    late = due(hourly, down, datetime(2026, 5, 1, 12, 45, tzinfo=UTC))
    assert late.run is None and len(late.missed) == 3


def test_a_start_in_the_distant_past_or_future_is_planned_at_once():
    minutely = schedule_of("* * * * *", "UTC")
    now = datetime(2026, 12, 7, 12, 0, 30, tzinfo=UTC)
    found = due(minutely, datetime(1, 1, 1, tzinfo=UTC), now)
    assert found.run == datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert len(found.missed) == MOST_MISSED and found.missed[-1] < found.run
    far = schedule_of("* * * * *", "UTC", start_at=datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC))
    assert next_fire(far, now) is None


# ----- the REST API, through a real server -----


async def test_a_fire_missed_within_the_catch_up_window_runs_once_and_lists_under_it(
    api: Api, write_script: Any
):
    write_script("nightly.py", QUICK)
    schedule = await create(
        api,
        name="nightly",
        cron=fired_minutes_ago(4, 2),
        timezone="Europe/Berlin",
        spec={"source": {"path": "nightly.py"}},
        start_at=ago(600),
    )
    assert schedule["timezone"] == "Europe/Berlin" and schedule["runs_in"] == "server"

    [run] = await until(lambda: runs(api, schedule["id"]))
    done = await api.wait(run["id"])
    assert done["state"] == "SUCCEEDED" and done["schedule_id"] == schedule["id"]
    assert "ran" in await api.log(run["id"])
    recorded = await fires(api, schedule["id"])
    assert recorded[0]["outcome"] == "started"
    assert recorded[0]["job_id"] == run["id"]
    assert recorded[0]["fire_at"] == run["scheduled_for"] == done["scheduled_for"]
    assert [f["outcome"] for f in recorded[1:]] == ["missed"]
    code, shown = await api.call("GET", "schedules", schedule["id"])
    assert code == 200 and shown["next_fire_at"] > recorded[0]["fire_at"]
    assert shown["last_fires"][0]["job_id"] == run["id"]
    # Other jobs are not its runs.
    await api.submit(source={"code": QUICK})
    assert [j["id"] for j in await runs(api, schedule["id"])] == [run["id"]]


async def test_fires_older_than_the_catch_up_window_are_recorded_missed_not_run(
    api: Api, write_script: Any
):
    write_script("hourly.py", QUICK)
    five_ago = datetime.now(UTC) - timedelta(minutes=5)
    schedule = await create(
        api,
        cron=f"{five_ago.minute} * * * *",
        spec={"source": {"path": "hourly.py"}},
        start_at=ago(600),
        catchup_seconds=0,
    )
    [missed] = await until(lambda: fires(api, schedule["id"]))
    assert missed["outcome"] == "missed" and missed["job_id"] is None
    assert missed["fire_at"] == five_ago.replace(second=0, microsecond=0).isoformat().replace(
        "+00:00", "Z"
    )
    assert await runs(api, schedule["id"]) == []


async def test_a_run_is_made_from_the_snapshot_until_update_from_file(
    api: Api, write_script: Any, jp_root_dir: Path
):
    write_script("etl/job.py", "import helper\nprint(helper.WORD, flush=True)\n")
    write_script("etl/helper.py", "WORD = 'first'\n")
    schedule = await create(
        api,
        cron="0 3 * * *",
        spec={"source": {"path": "etl/job.py", "include": ["helper.py"]}},
    )
    (jp_root_dir / "etl" / "helper.py").write_text("WORD = 'edited'\n")

    code, answer = await api.call("POST", "schedules", schedule["id"], "run")
    assert code == 201, answer
    first = await api.wait(answer["job"]["id"])
    assert first["schedule_id"] == schedule["id"] and first["state"] == "SUCCEEDED"
    assert "first" in await api.log(first["id"])

    code, edited = await api.call(
        "PATCH", "schedules", schedule["id"], body={"refresh_source": True}
    )
    assert code == 200 and edited["source_snapshot_at"] > schedule["source_snapshot_at"]
    code, answer = await api.call("POST", "schedules", schedule["id"], "run")
    assert "edited" in await api.log((await api.wait(answer["job"]["id"]))["id"])


async def test_a_paused_schedule_does_not_fire_and_resuming_misses_nothing(
    api: Api, write_script: Any
):
    write_script("paused.py", QUICK)
    schedule = await create(
        api,
        cron=fired_minutes_ago(3, 1),
        spec={"source": {"path": "paused.py"}},
        start_at=ago(600),
        paused=True,
    )
    assert schedule["paused"] and schedule["next_fire_at"] is None
    await asyncio.sleep(1.5)  # a pass or more of the clock
    assert await fires(api, schedule["id"]) == [] and await runs(api, schedule["id"]) == []

    code, resumed = await api.call("PATCH", "schedules", schedule["id"], body={"paused": False})
    assert code == 200 and not resumed["paused"] and resumed["next_fire_at"] is not None
    await asyncio.sleep(1.5)
    # The fires that passed while it was paused are neither run nor missed.
    assert await fires(api, schedule["id"]) == []
    code, paused = await api.call("PATCH", "schedules", schedule["id"], body={"paused": True})
    assert paused["paused"] and paused["next_fire_at"] is None


@pytest.mark.parametrize("overlap", ["skip", "queue"])
async def test_a_fire_while_the_last_run_still_runs_is_skipped_or_queued(
    api: Api, write_script: Any, jp_serverapp: Any, tmp_path: Path, overlap: str
):
    go = tmp_path / "go"
    write_script(
        "long.py",
        f"import os, time\ndeadline = time.time() + 60\n"
        f"while not os.path.exists({str(go)!r}) and time.time() < deadline: time.sleep(0.05)\n",
    )
    schedule = await create(
        api, cron="0 3 * * *", overlap=overlap, spec={"source": {"path": "long.py"}}
    )
    _, answer = await api.call("POST", "schedules", schedule["id"], "run")
    first = await api.wait(answer["job"]["id"], {"RUNNING"})

    # The clock fires the next two 03:00s while the first run still runs.
    manager = await server_manager(jp_serverapp)
    stored = manager.schedules.store.get(schedule["id"])
    nights = [datetime(2026, 12, day, 2, tzinfo=UTC) for day in (7, 8)]
    fired = [
        await manager.offload.run(
            manager.schedules.clock.fire, stored.schedule, stored.folder, night
        )
        for night in nights
    ]
    expected = ["queued", "skipped"] if overlap == "queue" else ["skipped", "skipped"]
    assert [f.outcome.value for f in fired] == expected
    assert [j["id"] for j in await runs(api, schedule["id"])] == [first["id"]]

    go.touch()
    assert (await api.wait(first["id"]))["state"] == "SUCCEEDED"
    if overlap == "queue":  # started once the first one ended
        later = await until(lambda: _more_than(api, schedule["id"], 1))
        assert later[0]["scheduled_for"] == "2026-12-07T02:00:00Z"
        assert (await api.wait(later[0]["id"]))["state"] == "SUCCEEDED"
    else:
        await asyncio.sleep(1.0)
        assert len(await runs(api, schedule["id"])) == 1


async def _more_than(api: Api, schedule_id: str, count: int) -> list[dict[str, Any]] | None:
    found = await runs(api, schedule_id)
    return found if len(found) > count else None


def documented(schema_name: str, payload: object) -> None:
    """The payload is what the OpenAPI document says the server sends."""
    from openapi_schema_validator import OAS31Validator

    from jupyter_mlp.server.openapi import openapi_document

    document = openapi_document()
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": document["components"]}
    OAS31Validator(schema).validate(payload)


async def test_a_run_refused_at_fire_time_is_recorded_failed_and_the_schedule_goes_on(
    api: Api, write_script: Any, jp_serverapp: Any
):
    write_script("fragile.py", QUICK)
    schedule = await create(api, cron="0 3 * * *", spec={"source": {"path": "fragile.py"}})
    manager = await server_manager(jp_serverapp)
    stored = manager.schedules.store.get(schedule["id"])
    (Path(stored.folder) / "source" / "fragile.py").unlink()  # its snapshot is gone

    night = datetime(2026, 12, 7, 2, tzinfo=UTC)
    clock = manager.schedules.clock
    fired = await manager.offload.run(clock.fire, stored.schedule, stored.folder, night)
    assert fired.outcome.value == "failed" and "fragile.py" in fired.message
    [recorded] = await fires(api, schedule["id"])
    assert recorded["outcome"] == "failed" and "fragile.py" in recorded["message"]

    code, _ = await api.call("PATCH", "schedules", schedule["id"], body={"refresh_source": True})
    assert code == 200
    later = await manager.offload.run(
        clock.fire, stored.schedule, stored.folder, night + timedelta(days=1)
    )
    assert later.outcome.value == "started"
    assert (await api.wait(later.job_id))["state"] == "SUCCEEDED"


async def test_a_fire_claimed_by_a_server_that_stopped_before_submitting_still_runs(
    api: Api, write_script: Any, jp_serverapp: Any
):
    from jupyter_mlp.core.schedule_models import FireOutcome, ScheduleFire

    write_script("orphan.py", QUICK)
    schedule = await create(api, cron="0 3 * * *", spec={"source": {"path": "orphan.py"}})
    manager = await server_manager(jp_serverapp)
    night = datetime(2026, 12, 7, 2, tzinfo=UTC)
    # As a server killed between claiming a fire and submitting its run leaves it.
    claimed = ScheduleFire(
        schedule_id=schedule["id"],
        fire_at=night,
        outcome=FireOutcome.STARTED,
        recorded_at=datetime.now(UTC) - timedelta(minutes=10),
    )
    assert await manager.offload.run(manager.schedules.store.claim, claimed)
    manager.schedules.clock.wake()

    [run] = await until(lambda: runs(api, schedule["id"]))
    assert run["scheduled_for"] == "2026-12-07T02:00:00Z"
    assert (await api.wait(run["id"]))["state"] == "SUCCEEDED"
    [fire] = await fires(api, schedule["id"])
    assert fire["outcome"] == "started" and fire["job_id"] == run["id"]


async def test_no_fire_comes_before_the_start_or_after_the_end(api: Api):
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    waiting = await create(
        api,
        cron="0 3 * * *",
        timezone="UTC",
        start_at=start.isoformat(),
        spec={"source": {"code": "pass"}},
    )
    first = datetime.fromisoformat(waiting["next_fire_at"])
    assert start <= first < start + timedelta(days=1) and first.hour == 3
    ended = await create(
        api,
        cron="* * * * *",
        start_at=ago(7200),
        end_at=ago(3700),
        spec={"source": {"code": "pass"}},
        catchup_seconds=60,
    )
    assert ended["next_fire_at"] is None
    recorded = await until(lambda: fires(api, ended["id"]))
    assert {f["outcome"] for f in recorded} == {"missed"}
    last = max(datetime.fromisoformat(f["fire_at"]) for f in recorded)
    assert last <= datetime.fromisoformat(ended["end_at"])


async def test_deleting_a_schedule_keeps_its_runs(api: Api, write_script: Any):
    write_script("kept.py", QUICK)
    schedule = await create(api, cron="@daily", spec={"source": {"path": "kept.py"}})
    assert schedule["cron"] == "0 0 * * *"
    documented("Schedule", schedule)
    code, answer = await api.call("POST", "schedules", schedule["id"], "run")
    documented("ScheduledRun", answer)
    await api.wait(answer["job"]["id"])
    documented("ScheduleList", (await api.call("GET", "schedules"))[1])
    documented("FireList", (await api.call("GET", "schedules", schedule["id"], "fires"))[1])
    documented("JobList", (await api.call("GET", "jobs", schedule_id=schedule["id"]))[1])
    code, _ = await api.call("DELETE", "schedules", schedule["id"])
    assert code == 204
    code, _ = await api.call("GET", "schedules", schedule["id"])
    assert code == 404
    assert [j["id"] for j in await runs(api, schedule["id"])] == [answer["job"]["id"]]
    code, listed = await api.call("GET", "schedules")
    assert code == 200 and listed == {"schedules": []}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"cron": "61 * * * *"}, "cron"),
        ({"cron": "every day"}, "cron"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"start_at": "2026-12-08T00:00:00Z", "end_at": "2026-12-07T00:00:00Z"}, "end_at"),
        ({"overlap": "sometimes"}, "overlap"),
        ({"runs_in": "cloud", "overlap": "allow"}, "runs_in"),
        ({"spec": {"source": {"path": "missing.py"}}}, "spec.source.path"),
        ({"spec": {"source": {"code": "pass"}, "resources": {"gpus": 1}}}, "spec.resources.gpus"),
    ],
)
async def test_a_bad_schedule_is_a_400_naming_its_field(
    api: Api, change: dict[str, Any], field: str
):
    body = {"cron": "0 3 * * *", "spec": {"source": {"code": "pass"}}, **change}
    code, answer = await api.call("POST", "schedules", body=body)
    assert code == 400, answer
    assert field in [e["field"] for e in answer["errors"]], answer


async def test_a_bad_edit_is_a_400_and_an_unknown_schedule_a_404(api: Api):
    schedule = await create(api, cron="0 3 * * *", spec={"source": {"code": "pass"}})
    code, answer = await api.call(
        "PATCH", "schedules", schedule["id"], body={"end_at": "2000-01-01T00:00:00Z"}
    )
    assert code == 200  # no start: any end is after it
    code, answer = await api.call(
        "PATCH", "schedules", schedule["id"], body={"start_at": "2001-01-01T00:00:00Z"}
    )
    assert code == 400 and [e["field"] for e in answer["errors"]] == ["end_at"]
    code, answer = await api.call(
        "PATCH", "schedules", schedule["id"], body={"timezone": "Nowhere"}
    )
    assert code == 400 and [e["field"] for e in answer["errors"]] == ["timezone"]
    for method, tail, body in (
        ("GET", (), None),
        ("PATCH", (), {}),
        ("DELETE", (), None),
        ("POST", ("run",), {}),
        ("GET", ("fires",), None),
    ):
        code, answer = await api.call(method, "schedules", "nosuch", *tail, body=body)
        assert code == 404, (method, answer)


# ----- runs in a cloud: the cloud's scheduler fires them -----


@pytest.fixture
def cloud_manager(tmp_path: Path) -> Iterator[Any]:
    from fake_backend import FakeCloud, FakeCloudScheduler, SchedulingFakeBackend

    from jupyter_mlp.core.manager import JobManager
    from jupyter_mlp.core.store import JobStore

    backend = SchedulingFakeBackend(FakeCloud(), FakeCloudScheduler())
    made = JobManager(
        JobStore(f"sqlite:///{tmp_path / 'mlp.db'}"),
        {"fake": backend},
        root_dir=tmp_path,
        jobs_dir=tmp_path / "jobs",
        default_backend="fake",
        poll_interval=0.05,
    )
    yield made
    made.store.close()


async def test_a_cloud_schedule_is_made_edited_run_and_deleted_in_the_cloud(cloud_manager: Any):
    from fake_backend import SchedulingFakeBackend

    backend: SchedulingFakeBackend = cloud_manager.backends["fake"]
    scheduler = backend.scheduler
    cloud_manager.start()
    cloud_manager.fire_schedules()
    try:
        schedule = await cloud_manager.schedules.create(
            {
                "cron": "0 3 * * *",
                "timezone": "Europe/Berlin",
                "runs_in": "cloud",
                "overlap": "allow",
                "spec": {"source": {"code": "pass"}},
            }
        )
        assert schedule.cloud_job == f"cloud/{schedule.id}"
        assert scheduler.jobs[schedule.id]["cron"] == "0 3 * * *"
        edited = await cloud_manager.schedules.update(schedule.id, {"paused": True})
        assert edited.paused and scheduler.jobs[schedule.id]["paused"]
        assert await cloud_manager.schedules.run_now(schedule.id) is None
        assert scheduler.run_nows == [schedule.id]

        # A run the cloud made is found and listed as the schedule's run, then watched.
        scheduler.fire(schedule.id, "remote-7", datetime(2026, 12, 7, 2, tzinfo=UTC))

        async def listed() -> list[str]:
            page, _ = await cloud_manager.list_jobs(schedule_id=schedule.id)
            return page

        [run] = await until(listed, timeout=10)
        assert '"backend_job_id":"remote-7"' in run.replace(" ", "")
        assert '"scheduled_for":"2026-12-07T02:00:00Z"' in run.replace(" ", "")
        run_id = json.loads(run)["id"]
        assert (await cloud_manager.get(run_id)).state is JobState.RUNNING
        backend.cloud.states["remote-7"] = JobState.SUCCEEDED  # the watcher follows it

        async def ended() -> bool:
            return (await cloud_manager.get(run_id)).state is JobState.SUCCEEDED

        assert await until(ended, timeout=10)
        await asyncio.sleep(1.5)  # looked again: the same run is not added twice
        assert len(await listed()) == 1

        await cloud_manager.schedules.delete(schedule.id)
        assert schedule.id not in scheduler.jobs
        assert len(await listed()) == 1
    finally:
        await cloud_manager.stop()


async def test_a_cloud_schedule_the_cloud_cannot_run_is_a_400_naming_the_fields(
    cloud_manager: Any,
):
    from jupyter_mlp.core.models import MLPError

    with pytest.raises(MLPError) as refused:
        await cloud_manager.schedules.create(
            {
                "cron": "0 3 * * *",
                "runs_in": "cloud",
                "overlap": "skip",
                "spec": {"source": {"code": "pass"}},
            }
        )
    assert refused.value.status == 400
    assert [e.field for e in refused.value.errors] == ["overlap"]


# ----- real `jupyter server` processes: waiting for real minutes -----


def process_runs(server: Any, schedule_id: str) -> list[dict[str, Any]]:
    return server.call("GET", f"mlp/jobs?schedule_id={schedule_id}")["jobs"]  # type: ignore[no-any-return]


def wait_for_runs(
    server: Any, schedule_id: str, count: int, timeout: float
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        found = process_runs(server, schedule_id)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def minutes(texts: list[str]) -> list[datetime]:
    return sorted(datetime.fromisoformat(text) for text in texts)


@pytest.mark.timeout(300)
def test_a_schedule_every_minute_runs_twice_in_a_little_over_two_minutes_on_two_servers(servers):
    # Two servers share one database: each fire time is claimed once, so each runs once.
    first, second = servers(), servers()
    schedule = first.call(
        "POST",
        "mlp/schedules",
        {"name": "minutely", "cron": "* * * * *", "spec": {"source": {"code": QUICK}}},
    )
    found = wait_for_runs(second, schedule["id"], 2, timeout=150)
    time.sleep(1.0)  # had the other server fired a time again, it would show by now
    found = process_runs(first, schedule["id"])

    planned = minutes([run["scheduled_for"] for run in found])
    assert len(planned) == 2, found
    assert planned[1] - planned[0] == timedelta(minutes=1)
    assert all(at.second == 0 for at in planned)
    assert {run["name"] for run in found} == {"minutely"}
    fired = first.call("GET", f"mlp/schedules/{schedule['id']}/fires")["fires"]
    assert sorted(f["outcome"] for f in fired) == ["started", "started"]
    for run in found:
        assert second.wait(run["id"])["state"] == "SUCCEEDED"


@pytest.mark.timeout(240)
def test_a_kill_and_a_restart_between_fires_lose_and_double_nothing(servers):
    first = servers()
    schedule = first.call(
        "POST",
        "mlp/schedules",
        # `allow`: a fire is never skipped for a run the restarted server has not yet seen end
        # (how soon it does is the machine's load, not what this test is about).
        {
            "cron": "* * * * *",
            "start_at": ago(90),
            "overlap": "allow",
            "spec": {"source": {"code": QUICK}},
        },
    )
    assert len(wait_for_runs(first, schedule["id"], 1, timeout=30)) == 1  # caught up at once
    first.kill()  # kill -9: nothing of its own shutdown runs

    # A fire time passes while no server runs.
    now = datetime.now(UTC)
    boundary = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    time.sleep((boundary - now).total_seconds() + 1.0)
    second = servers()
    assert len(wait_for_runs(second, schedule["id"], 2, timeout=60)) == 2  # caught up once
    second.stop()
    third = servers()
    time.sleep(2.0)  # a few passes of its clock

    found = process_runs(third, schedule["id"])
    planned = minutes([run["scheduled_for"] for run in found])
    assert len(set(planned)) == len(planned), "a fire time ran twice"
    assert planned[-1] >= boundary
    fired = third.call("GET", f"mlp/schedules/{schedule['id']}/fires?limit=500")["fires"]
    times = minutes([f["fire_at"] for f in fired])
    assert len(set(times)) == len(times)
    # Every minute from the first recorded fire to the last has its record: none was lost.
    span = int((times[-1] - times[0]).total_seconds() // 60) + 1
    assert times == [times[0] + timedelta(minutes=n) for n in range(span)]
    started = {datetime.fromisoformat(f["fire_at"]) for f in fired if f["outcome"] == "started"}
    assert started == set(planned)
