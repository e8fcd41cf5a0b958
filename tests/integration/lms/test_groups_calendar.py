"""A learner's study sessions as an iCalendar feed: at a secret URL of their own (no sign-in,
a new secret voids the old URL), only their groups' sessions, valid RFC 5545 as the icalendar
package parses it (escaped text, folded lines, UTC times)."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest
from django.test import Client
from django.utils import timezone

from lms.groups import selectors, services


@pytest.fixture
def group(course, learner):
    return services.create_group(selectors.groups_viewer(learner, course), name="Loopers")


def _plan(course, learner, group, **fields):
    start = timezone.now().replace(microsecond=0) + dt.timedelta(days=2)
    defaults = {"title": "Drill", "starts_at": start, "ends_at": start + dt.timedelta(hours=1),
                "place": "Room 4"}
    return services.add_session(
        selectors.groups_viewer(learner, course), group, **{**defaults, **fields}
    )


def test_the_feed_is_valid_icalendar_with_the_learners_sessions(course, learner, group):
    tricky = "Lists, dicts; and \\ backslashes\n" + "é" * 80
    session = _plan(course, learner, group, title=tricky, link="https://meet.example.org/x?a=1")
    secret = services.calendar_secret(learner)

    response = Client().get(f"/groups/calendar/{secret}.ics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    body = response.content
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))
    calendar = icalendar.Calendar.from_ical(body)
    assert calendar["VERSION"] == "2.0"
    assert calendar["PRODID"]
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    event = events[0]
    assert str(event["SUMMARY"]) == tricky
    assert event.decoded("DTSTART") == session.starts_at
    assert event.decoded("DTEND") == session.ends_at
    assert str(event["LOCATION"]) == "Room 4"
    assert str(event["UID"]).startswith(f"study-session-{session.pk}@")
    assert event["DTSTAMP"]


def test_the_feed_holds_only_the_learners_groups_sessions(course, learner, other_learner, group):
    _plan(course, learner, group, title="Ours")
    theirs = services.create_group(selectors.groups_viewer(other_learner, course), name="Theirs")
    _plan(course, other_learner, theirs, title="Not ours")
    secret = services.calendar_secret(learner)
    calendar = icalendar.Calendar.from_ical(Client().get(f"/groups/calendar/{secret}.ics").content)
    assert [str(e["SUMMARY"]) for e in calendar.walk("VEVENT")] == ["Ours"]


def test_an_unknown_secret_finds_no_calendar(db):
    assert Client().get("/groups/calendar/not-a-secret.ics").status_code == 404


def test_a_new_secret_voids_the_old_url(course, learner, group):
    old = services.calendar_secret(learner)
    client = Client()
    client.force_login(learner)
    client.post("/groups/calendar/")
    new = services.calendar_secret(learner)
    assert new != old
    assert Client().get(f"/groups/calendar/{old}.ics").status_code == 404
    assert Client().get(f"/groups/calendar/{new}.ics").status_code == 200


def test_the_calendar_page_needs_a_sign_in(db):
    assert Client().get("/groups/calendar/").status_code == 302
