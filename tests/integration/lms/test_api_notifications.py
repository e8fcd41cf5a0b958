"""API v1's notifications (lms/api/notifications.py): a person lists, counts and marks read their
own notifications and reads and sets their own email preferences; never anyone else's;
anonymous callers are refused; the list costs the same queries however long it is."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from lms.notifications.models import DEFAULT_DELIVERY, Delivery, Kind, Notification, Preference
from lms.notifications.services import Event, notify

BASE = "/api/v1/notifications/"


def tell(people, text="answered in “Loops”", course=None, kind=Kind.REPLY):
    return notify(Event(kind=kind, text=text, url="/somewhere/", course=course), people)


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize(
    "method, path",
    [("get", ""), ("get", "unread-count/"), ("post", "1/read/"), ("post", "read-all/"),
     ("get", "preferences/"), ("put", "preferences/"), ("patch", "preferences/")],
)
def test_anonymous_callers_get_401_on_every_notifications_endpoint(db, method, path):
    response = getattr(APIClient(), method)(BASE + path, {}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_the_list_shows_only_my_notifications_newest_first(learner, other_learner, course):
    first, = tell([learner], "first", course)
    second, = tell([learner], "second")
    tell([other_learner], "not yours")
    body = api_as(learner).get(BASE).json()
    assert body["count"] == 2
    assert [n["id"] for n in body["results"]] == [second.pk, first.pk]
    assert body["results"][1]["course"] == course.slug
    assert body["results"][1]["sentence"] == "First"
    assert body["results"][1]["read"] is False


def test_the_unread_filter_lists_only_the_unread_or_only_the_read(learner):
    read, unread = tell([learner], "a") + tell([learner], "b")
    api_as(learner).post(f"{BASE}{read.pk}/read/")
    client = api_as(learner)
    assert [n["id"] for n in client.get(BASE, {"unread": "true"}).json()["results"]] == [
        unread.pk
    ]
    assert [n["id"] for n in client.get(BASE, {"unread": "false"}).json()["results"]] == [
        read.pk
    ]
    refused = client.get(BASE, {"unread": "maybe"})
    assert refused.status_code == 400
    assert "unread" in refused.json()


def test_the_list_is_paginated(learner):
    for number in range(3):
        tell([learner], f"n{number}")
    body = api_as(learner).get(BASE, {"limit": 2}).json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"]


def test_the_unread_count_is_of_my_unread_notifications_only(learner, other_learner):
    tell([learner, other_learner])
    tell([learner])
    assert api_as(learner).get(BASE + "unread-count/").json() == {"unread": 2}
    api_as(learner).post(BASE + "read-all/")
    assert api_as(learner).get(BASE + "unread-count/").json() == {"unread": 0}
    assert api_as(other_learner).get(BASE + "unread-count/").json() == {"unread": 1}


def test_marking_one_read_marks_my_own(learner):
    mine, = tell([learner])
    response = api_as(learner).post(f"{BASE}{mine.pk}/read/")
    assert response.status_code == 200
    assert response.json()["read"] is True
    mine.refresh_from_db()
    assert mine.read_at is not None


def test_one_cannot_mark_anothers_notification_read(learner, other_learner):
    theirs, = tell([other_learner])
    response = api_as(learner).post(f"{BASE}{theirs.pk}/read/")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_an_id_no_notification_can_have_is_a_404(learner):
    assert api_as(learner).post(f"{BASE}99999999999999999999/read/").status_code == 404


def test_marking_all_read_leaves_others_notifications_unread(learner, other_learner):
    tell([learner, other_learner])
    tell([learner])
    assert api_as(learner).post(BASE + "read-all/").json() == {"marked": 2}
    assert Notification.objects.get(recipient=other_learner).read_at is None


def test_preferences_are_the_defaults_until_chosen(learner):
    assert api_as(learner).get(BASE + "preferences/").json() == {
        kind: str(way) for kind, way in DEFAULT_DELIVERY.items()
    }


def test_patch_changes_only_the_kinds_given_and_only_mine(learner, other_learner):
    response = api_as(learner).patch(BASE + "preferences/", {"reply": "off"}, format="json")
    assert response.status_code == 200
    assert response.json()["reply"] == "off"
    assert response.json()["mention"] == DEFAULT_DELIVERY[Kind.MENTION]
    assert Preference.objects.get(user=learner, kind=Kind.REPLY).delivery == Delivery.OFF
    assert not Preference.objects.filter(user=other_learner).exists()


def test_put_sets_every_kind(learner):
    every = {kind: Delivery.DIGEST.value for kind in Kind.values}
    response = api_as(learner).put(BASE + "preferences/", every, format="json")
    assert response.status_code == 200
    assert response.json() == every


def test_an_unknown_way_is_refused_with_a_sentence(learner):
    response = api_as(learner).patch(BASE + "preferences/", {"mention": "weekly"},
                                     format="json")
    assert response.status_code == 400
    message = response.json()["mention"][0]
    assert "“weekly” is not a way to send mentions of me by email" in message
    assert "immediate" in message and "digest" in message and "off" in message
    assert not Preference.objects.filter(user=learner).exists()


def test_put_without_every_kind_is_refused_naming_the_missing_ones(learner):
    response = api_as(learner).put(BASE + "preferences/", {"reply": "off"}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == set(Kind.values) - {"reply"}
    assert response.json()["grade"][0].startswith("Say how new grades go out by email")
    assert not Preference.objects.filter(user=learner).exists()


def list_queries(client) -> int:
    client.get(BASE)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(BASE)
    assert response.status_code == 200
    return len(captured)


def test_the_list_costs_the_same_queries_for_2_or_20_notifications(learner, course):
    client = api_as(learner)
    for _ in range(2):
        tell([learner], course=course)
    few = list_queries(client)
    for _ in range(18):
        tell([learner], course=course)
    assert list_queries(client) == few
