"""Study groups (lms.groups): who may open and do what (learner of the course, learner of
another course, instructor, staff, anonymous), the rules of joining (size limit, admission,
signed and expiring invites), the group's own board, the peer review's selector of group mates,
membership changes told to the hub's workspace endpoint, and the list pages' query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lms.community.models import Thread
from lms.groups import selectors, services, workspace
from lms.groups.models import Admission, Membership, StudyGroup, StudySession
from tests.support.lms_factories import CourseFactory, EnrollmentFactory, UserFactory
from tests.support.lms_fixtures import ROLES, client_for


def viewer(user, course):
    return selectors.groups_viewer(user, course)


@pytest.fixture
def group(course, learner):
    """An open group of the course with ``learner`` in it."""
    return services.create_group(viewer(learner, course), name="Loopers", size_limit=3)


@pytest.fixture
def hub_calls(settings, monkeypatch):
    """The hub's workspace endpoint, faked: the calls the LMS makes to it."""
    settings.LMS_HUB_API_URL = "http://hub.invalid/hub/api"
    settings.LMS_HUB_SERVICE_TOKEN = "lms-token"
    calls: list[tuple] = []

    class Recorder:
        def grant(self, group_id, username):
            calls.append(("grant", group_id, username))

        def revoke(self, group_id, username):
            calls.append(("revoke", group_id, username))

    monkeypatch.setattr(workspace, "_client", lambda acting_for: Recorder())
    return calls


# --- Who may open each page -----------------------------------------------------------------

LIST = {"course_learner": 200, "other_course_learner": 403, "instructor": 200, "staff": 200,
        "anonymous": 302}
# A learner of the course who is not in the group sees a 404, as anyone outside does: no name leaks.
MEMBERS = {"course_learner": 200, "other_course_learner": 403, "instructor": 200, "staff": 200,
           "anonymous": 302}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("path", "expected"), [
    ("groups/", LIST), ("groups/{group}/", MEMBERS), ("groups/{group}/board/", MEMBERS),
])
def test_who_may_open_each_page(callers, course, group, role, path, expected):
    url = f"/courses/{course.slug}/" + path.format(group=group.pk)
    assert client_for(callers[role]).get(url).status_code == expected[role]


@pytest.mark.parametrize("path", ["groups/{group}/", "groups/{group}/board/"])
def test_a_learner_outside_the_group_does_not_see_its_pages(course, group, other_learner, path):
    url = f"/courses/{course.slug}/" + path.format(group=group.pk)
    assert client_for(other_learner).get(url).status_code == 404


@pytest.mark.parametrize("role", ROLES)
def test_nobody_but_the_courses_learners_joins_a_group(callers, course, instructor, role):
    made = services.create_group(viewer(instructor, course), name="Open to learners")
    response = client_for(callers[role]).post(f"/courses/{course.slug}/groups/{made.pk}/join/")
    assert made.memberships.exists() == (role == "course_learner")
    assert response.status_code == (403 if role == "other_course_learner" else 302)


def test_a_learner_of_the_course_joins_an_open_group_and_reads_its_page(
    course, group, other_learner
):
    client = client_for(other_learner)
    response = client.post(f"/courses/{course.slug}/groups/{group.pk}/join/")
    assert response.status_code == 302
    assert Membership.objects.filter(group=group, user=other_learner).exists()
    assert client.get(f"/courses/{course.slug}/groups/{group.pk}/").status_code == 200


def test_a_learner_of_another_course_cannot_join(course, group, callers):
    stranger = callers["other_course_learner"]
    with pytest.raises(PermissionDenied):
        services.join(viewer(stranger, course), group)
    assert not Membership.objects.filter(user=stranger).exists()


# --- Rules of joining -----------------------------------------------------------------------


def test_a_full_group_refuses_one_more(course, group, other_learner):
    services.join(viewer(other_learner, course), group)
    third = UserFactory(username="third")
    EnrollmentFactory(user=third, course=course)
    services.join(viewer(third, course), group)
    fourth = UserFactory(username="fourth")
    EnrollmentFactory(user=fourth, course=course)
    with pytest.raises(ValidationError, match="full"):
        services.join(viewer(fourth, course), group)
    assert group.memberships.count() == 3


def test_a_group_by_invitation_refuses_a_plain_join(course, learner, other_learner):
    closed = services.create_group(
        viewer(learner, course), name="Closed", admission=Admission.INVITATION
    )
    with pytest.raises(PermissionDenied, match="invitation"):
        services.join(viewer(other_learner, course), closed)


def test_an_invite_link_lets_a_learner_into_a_group_by_invitation(
    course, learner, other_learner
):
    closed = services.create_group(
        viewer(learner, course), name="Closed", admission=Admission.INVITATION
    )
    token = services.invite_token(viewer(learner, course), closed)
    client = client_for(other_learner)
    assert client.get(f"/groups/invite/{token}/").status_code == 200
    response = client.post(f"/groups/invite/{token}/accept/")
    assert response.status_code == 302
    assert Membership.objects.filter(group=closed, user=other_learner).exists()


def test_an_invite_link_expires(course, group, other_learner, settings, monkeypatch):
    token = services.invite_token(viewer(group.memberships.get().user, course), group)
    later = signing.time.time() + settings.LMS_GROUPS_INVITE_MAX_AGE + 5
    monkeypatch.setattr(signing.time, "time", lambda: later)
    with pytest.raises(ValidationError, match="expired"):
        services.join_by_invite(viewer(other_learner, course), token)


def test_a_tampered_invite_link_is_refused(course, group, other_learner):
    token = services.invite_token(viewer(group.memberships.get().user, course), group)
    with pytest.raises(ValidationError, match="not valid"):
        services.join_by_invite(viewer(other_learner, course), token[:-2] + "xx")


def test_voiding_invites_voids_the_links_given_out(course, group, learner, other_learner):
    token = services.invite_token(viewer(learner, course), group)
    services.void_invites(viewer(learner, course), group)
    with pytest.raises(ValidationError, match="no longer valid"):
        services.join_by_invite(viewer(other_learner, course), token)


def test_an_invite_to_one_course_does_not_admit_a_learner_of_another(course, group, callers):
    token = services.invite_token(viewer(group.memberships.get().user, course), group)
    response = client_for(callers["other_course_learner"]).post(
        f"/groups/invite/{token}/accept/"
    )
    assert response.status_code == 403
    assert group.memberships.count() == 1


def test_only_a_member_or_an_instructor_makes_invites(course, group, other_learner):
    with pytest.raises(PermissionDenied):
        services.invite_token(viewer(other_learner, course), group)


# --- Instructors ----------------------------------------------------------------------------


def test_an_instructor_creates_a_group_without_joining_it(course, instructor):
    made = services.create_group(viewer(instructor, course), name="Tuesday", size_limit=4)
    assert made.memberships.count() == 0


def test_an_instructor_assigns_and_removes_learners(course, instructor, other_learner):
    made = services.create_group(
        viewer(instructor, course), name="Tuesday", admission=Admission.INVITATION
    )
    client = client_for(instructor)
    url = f"/courses/{course.slug}/groups/{made.pk}/act/"
    client.post(url, {"action": "assign", "username": other_learner.username})
    assert made.memberships.filter(user=other_learner).exists()
    client.post(url, {"action": "remove", "username": other_learner.username})
    assert not made.memberships.filter(user=other_learner).exists()


def test_an_instructor_cannot_assign_someone_outside_the_course(course, instructor, callers):
    made = services.create_group(viewer(instructor, course), name="Tuesday")
    with pytest.raises(ValidationError, match="not a learner"):
        services.assign(viewer(instructor, course), made, callers["other_course_learner"])


@pytest.mark.parametrize("action", ["assign", "remove", "delete"])
def test_a_learner_cannot_manage_a_group(course, group, learner, other_learner, action):
    client_for(learner).post(f"/courses/{course.slug}/groups/{group.pk}/act/",
                             {"action": action, "username": other_learner.username})
    assert StudyGroup.objects.filter(pk=group.pk).exists()
    assert not group.memberships.filter(user=other_learner).exists()


def test_staff_manage_any_courses_groups(course, group, staff, other_learner):
    services.assign(viewer(staff, course), group, other_learner)
    assert group.memberships.filter(user=other_learner).exists()


def test_group_names_are_unique_per_course(course, group, other_learner):
    with pytest.raises(ValidationError, match="already has a group"):
        services.create_group(viewer(other_learner, course), name="Loopers")


# --- The group's own board ------------------------------------------------------------------


def test_a_groups_threads_stay_on_its_board(course, group, learner, other_learner):
    client = client_for(learner)
    client.post(f"/courses/{course.slug}/groups/{group.pk}/board/new/",
                {"title": "Our plan", "body": "Meet Tuesday."})
    thread = Thread.objects.get(title="Our plan")
    assert thread.group == group
    group_board = client.get(f"/courses/{course.slug}/groups/{group.pk}/board/")
    assert "Our plan" in group_board.content.decode()
    assert "Our plan" not in client.get(f"/courses/{course.slug}/board/").content.decode()
    # a classmate outside the group reaches it neither way
    outsider = client_for(other_learner)
    assert outsider.get(f"/courses/{course.slug}/board/{thread.pk}/").status_code == 404
    assert outsider.get(
        f"/courses/{course.slug}/groups/{group.pk}/board/{thread.pk}/"
    ).status_code == 404


def test_a_member_replies_on_the_groups_board(course, group, learner):
    client = client_for(learner)
    client.post(f"/courses/{course.slug}/groups/{group.pk}/board/new/",
                {"title": "Our plan", "body": "Meet Tuesday."})
    thread = Thread.objects.get(title="Our plan")
    client.post(f"/courses/{course.slug}/groups/{group.pk}/board/{thread.pk}/",
                {"body": "Works for me."})
    page = client.get(f"/courses/{course.slug}/groups/{group.pk}/board/{thread.pk}/")
    assert "Works for me." in page.content.decode()


def test_an_instructor_reads_but_a_former_member_loses_the_board(
    course, group, learner, instructor
):
    client_for(learner).post(f"/courses/{course.slug}/groups/{group.pk}/board/new/",
                             {"title": "Our plan", "body": "Meet Tuesday."})
    assert client_for(instructor).get(
        f"/courses/{course.slug}/groups/{group.pk}/board/"
    ).status_code == 200
    services.leave(viewer(learner, course), group)
    assert client_for(learner).get(
        f"/courses/{course.slug}/groups/{group.pk}/board/"
    ).status_code == 404


# --- Peer review's selector -------------------------------------------------------------------


def test_study_group_mates_maps_each_member_to_the_others_of_their_groups(
    course, group, learner, other_learner
):
    services.join(viewer(other_learner, course), group)
    third = UserFactory(username="third")
    EnrollmentFactory(user=third, course=course)
    alone = services.create_group(viewer(third, course), name="Solo")
    services.join(viewer(other_learner, course), alone)
    other_course = CourseFactory(slug="data-201", title="Data 201")
    EnrollmentFactory(user=learner, course=other_course)
    EnrollmentFactory(user=third, course=other_course)
    elsewhere = services.create_group(viewer(learner, other_course), name="Elsewhere")
    services.join(viewer(third, other_course), elsewhere)

    mates = selectors.study_group_mates(course=course)

    assert mates == {
        learner.pk: {other_learner.pk},
        other_learner.pk: {learner.pk, third.pk},
        third.pk: {other_learner.pk},
    }


def test_study_group_mates_leaves_out_lone_members(course, group):
    assert selectors.study_group_mates(course=course) == {}


# --- The hub's workspace shares follow membership ---------------------------------------------


def test_joining_grants_and_leaving_revokes_the_workspace_share(
    course, group, learner, other_learner, hub_calls, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.join(viewer(other_learner, course), group)
    with django_capture_on_commit_callbacks(execute=True):
        services.leave(viewer(other_learner, course), group)
    assert hub_calls == [("grant", group.pk, "linus"), ("revoke", group.pk, "linus")]


def test_removal_and_deletion_revoke_the_workspace_share(
    course, group, learner, other_learner, instructor, hub_calls,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        services.assign(viewer(instructor, course), group, other_learner)
        services.remove(viewer(instructor, course), group, other_learner)
    group_id = group.pk
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_group(viewer(instructor, course), group)
    assert hub_calls == [("grant", group_id, "linus"), ("revoke", group_id, "linus"),
                         ("revoke", group_id, "grace")]


def test_a_refused_join_tells_the_hub_nothing(course, group, callers, hub_calls,
                                              django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(PermissionDenied):
        services.join(viewer(callers["other_course_learner"], course), group)
    assert hub_calls == []


def test_a_hub_that_cannot_be_reached_leaves_the_membership_change_made(
    course, group, other_learner, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.LMS_HUB_API_URL = "http://127.0.0.1:9/hub/api"  # nothing listens on port 9
    settings.LMS_HUB_SERVICE_TOKEN = "lms-token"
    settings.LMS_HUB_API_TIMEOUT = 1.0
    with django_capture_on_commit_callbacks(execute=True):
        services.join(viewer(other_learner, course), group)
    assert group.memberships.filter(user=other_learner).exists()


def test_only_members_open_the_workspace(course, group, other_learner, instructor, hub_calls):
    for outsider in (other_learner, instructor):
        response = client_for(outsider).post(
            f"/courses/{course.slug}/groups/{group.pk}/workspace/"
        )
        assert response.status_code in {403, 404}


# --- Sessions and the dashboard -------------------------------------------------------------


def test_sessions_show_on_members_dashboards_only(course, group, learner, other_learner):
    start = timezone.now() + dt.timedelta(days=1)
    services.add_session(viewer(learner, course), group, title="Recursion drill",
                         starts_at=start, ends_at=start + dt.timedelta(hours=1), place="Room 4")
    assert "Recursion drill" in client_for(learner).get("/dashboard/").content.decode()
    assert "Recursion drill" not in client_for(other_learner).get("/dashboard/").content.decode()


def test_a_session_needs_a_place_or_a_link_and_an_end_after_its_start(course, group, learner):
    start = timezone.now() + dt.timedelta(days=1)
    v = viewer(learner, course)
    with pytest.raises(ValidationError, match="place or a link"):
        services.add_session(v, group, title="T", starts_at=start,
                             ends_at=start + dt.timedelta(hours=1))
    with pytest.raises(ValidationError, match="ends after"):
        services.add_session(v, group, title="T", starts_at=start, ends_at=start, place="x")
    with pytest.raises(ValidationError, match="http"):
        services.add_session(v, group, title="T", starts_at=start,
                             ends_at=start + dt.timedelta(hours=1), link="javascript:alert(1)")


def test_an_outsider_cannot_plan_a_session(course, group, other_learner):
    start = timezone.now() + dt.timedelta(days=1)
    with pytest.raises(PermissionDenied):
        services.add_session(viewer(other_learner, course), group, title="T", starts_at=start,
                             ends_at=start + dt.timedelta(hours=1), place="x")
    assert not StudySession.objects.exists()


# --- Query counts -----------------------------------------------------------------------------


def _learners(course, n, prefix):
    users = []
    for i in range(n):
        user = UserFactory(username=f"{prefix}{i}")
        EnrollmentFactory(user=user, course=course)
        users.append(user)
    return users


def _queries(client, url) -> int:
    client.get(url)  # the first request of a client warms per-process caches (Wagtail's site)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_course_groups_page_costs_the_same_for_2_or_20_groups(course, learner):
    client = client_for(learner)
    url = f"/courses/{course.slug}/groups/"
    for i, user in enumerate(_learners(course, 2, "a")):
        services.create_group(viewer(user, course), name=f"A{i}")
    few = _queries(client, url)
    for i, user in enumerate(_learners(course, 18, "b")):
        services.create_group(viewer(user, course), name=f"B{i}")
    assert _queries(client, url) == few


def test_the_dashboard_costs_the_same_for_2_or_20_sessions(course, group, learner):
    client = client_for(learner)
    v = viewer(learner, course)
    start = timezone.now() + dt.timedelta(days=1)

    def plan(n):
        for i in range(n):
            services.add_session(v, group, title=f"S{i}", starts_at=start,
                                 ends_at=start + dt.timedelta(hours=1), place="Room")

    plan(2)
    few = _queries(client, "/dashboard/")
    plan(18)
    assert _queries(client, "/dashboard/") == few


def test_the_group_page_costs_the_same_for_2_or_10_members(course, instructor):
    made = services.create_group(viewer(instructor, course), name="Big", size_limit=12)
    client = client_for(instructor)
    url = f"/courses/{course.slug}/groups/{made.pk}/"
    for user in _learners(course, 2, "c"):
        services.assign(viewer(instructor, course), made, user)
    few = _queries(client, url)
    for user in _learners(course, 8, "d"):
        services.assign(viewer(instructor, course), made, user)
    assert _queries(client, url) == few


def test_nobody_registers_a_workspaces_username():
    from lms.accounts.usernames import HubUsernameValidator

    with pytest.raises(ValidationError):
        HubUsernameValidator()("studygroup--3")


def test_a_member_is_sent_to_the_workspace_once_it_is_ready(
    course, group, learner, hub_calls, monkeypatch
):
    answers = iter([{"url": "/user/studygroup--1/", "ready": False},
                    {"url": "http://u-x.localhost:8001/user/studygroup--1/", "ready": True}])

    class Starter:
        def start(self, group_id):
            return next(answers)

    monkeypatch.setattr(workspace, "_client", lambda acting_for: Starter())
    client = client_for(learner)
    url = f"/courses/{course.slug}/groups/{group.pk}/workspace/"
    assert client.post(url)["Location"] == f"/courses/{course.slug}/groups/{group.pk}/"
    page = client.post(url).content.decode()
    workspace_url = "http://u-x.localhost:8001/user/studygroup--1/"
    assert f'<meta http-equiv="refresh" content="0; url={workspace_url}">' in page
    assert f'href="{workspace_url}"' in page


def test_the_form_that_opens_the_workspace_ends_on_the_lms_not_on_the_workspace_host(
    course, group, learner, hub_calls, monkeypatch
):
    """Browsers hold a form's redirects to the page policy's form-action, which names the LMS
    and the hub's host only: a redirect to the workspace's own host would be refused, and the
    member would stay on the group's page. The form's answer is a page of the LMS that moves
    on to the workspace."""

    class Starter:
        def start(self, group_id):
            return {"url": "http://u-x.localhost:8001/user/studygroup--1/", "ready": True}

    monkeypatch.setattr(workspace, "_client", lambda acting_for: Starter())
    answer = client_for(learner).post(f"/courses/{course.slug}/groups/{group.pk}/workspace/")
    assert answer.status_code == 200
    assert "Location" not in answer
    form_action = next(d for d in answer["Content-Security-Policy"].split(";")
                       if d.strip().startswith("form-action"))
    assert "u-x.localhost" not in form_action
