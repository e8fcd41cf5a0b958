"""The exchange log on both databases it runs on: SQLite (the embedded default) and PostgreSQL
(``TUTOR_DB_URL``; here a database of its own next to the tests' ``DATABASE_URL``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from tests.support.store_migrations import new_postgresql_database
from tutor.store import ExchangeLog, exchange_json

pytestmark = [pytest.mark.slow]
DAY = dt.datetime(2027, 1, 15, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def postgresql_url() -> Iterator[str]:
    with new_postgresql_database("tutor_store") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def log(request, tmp_path) -> Iterator[ExchangeLog]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tutor' / 'tutor.sqlite'}"
    else:
        url = request.getfixturevalue("postgresql_url")
    exchanges = ExchangeLog(url)
    with exchanges.engine.begin() as connection:
        connection.execute(text("DELETE FROM tutor_exchanges"))
    yield exchanges
    exchanges.dispose()


def record(log: ExchangeLog, learner="grace", course="python-101", **fields):
    values = {"assignment": "ps1-basics", "mode": "explain", "cell_id": None,
              "error_type": "NameError", "question": None, "reply": "r", "offline": False,
              "refused": False, "failed": False, "error": "", "model": "m",
              "created_at": DAY, "duration_ms": 3}
    return log.record(course=course, learner=learner, **{**values, **fields})


def test_history_is_newest_first_per_course_and_learner_and_pages_back(log):
    ids = [record(log, learner=name).id for name in ("grace", "linus", "grace")]
    record(log, course="data-201")
    assert [e.id for e in log.history("python-101", "grace")] == [ids[2], ids[0]]
    assert [e.id for e in log.history("python-101", None)] == ids[::-1]
    assert [e.id for e in log.history("python-101", None, before=ids[2])] == ids[1::-1]
    assert len(log.history("python-101", None, limit=2)) == 2


def test_an_exchange_reads_back_as_the_contract_writes_it(log):
    row = record(log, mode="hint", cell_id="ps1-celsius-answer", error_type=None, refused=True)
    (back,) = log.history("python-101", "grace")
    assert exchange_json(back) == {
        "id": row.id, "course": "python-101", "assignment": "ps1-basics", "learner": "grace",
        "mode": "hint", "cell_id": "ps1-celsius-answer", "error_type": None, "question": None,
        "reply": "r", "offline": False, "refused": True, "failed": False,
        "created_at": "2027-01-15T00:00:00+00:00",
    }


def test_the_daily_count_starts_at_the_given_time(log):
    record(log, created_at=DAY - dt.timedelta(seconds=1))
    record(log, created_at=DAY)
    record(log, created_at=DAY + dt.timedelta(hours=5))
    assert log.count_since("grace", DAY) == 2
    assert log.count_since("linus", DAY) == 0


def test_the_summary_counts_modes_errors_and_refused_leaks(log):
    for error in ("NameError", "NameError", "TypeError"):
        record(log, error_type=error)
    record(log, learner="linus", mode="hint", error_type=None, refused=True)
    record(log, learner="linus", mode="chat", error_type=None, failed=True, offline=True)
    record(log, course="data-201", error_type="KeyError")
    summary = log.summary("python-101").as_json()
    assert summary == {"exchanges": 5, "learners": 2,
                       "by_mode": {"chat": 1, "explain": 3, "hint": 1},
                       "error_types": [["NameError", 2], ["TypeError", 1]],
                       "refused_leaks": 1, "failed": 1, "offline": 1}


def test_offline_hints_already_given_are_counted_per_cell(log):
    for _ in range(2):
        record(log, mode="hint", cell_id="c1", offline=True, error_type=None)
    record(log, mode="hint", cell_id="c1", offline=False, error_type=None)
    record(log, mode="hint", cell_id="c2", offline=True, error_type=None)
    assert log.hints_given("grace", "python-101", "ps1-basics", "c1") == 2
