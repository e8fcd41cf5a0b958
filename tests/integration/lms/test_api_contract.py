"""API v1 keeps to its OpenAPI schema: schemathesis, with all its checks, against the LMS on
PostgreSQL, as a learner, an instructor and staff (docs/architecture.md, "API v1").

How it runs, and why:

- **Transport**: schemathesis's WSGI transport into Django's own WSGI application (every
  middleware, the real authentication, throttles and database), not a live server: requests run
  in the test's transaction, so the data below is created once per module and each test's writes
  roll back, where a live server would need the database flushed (and the course rebuilt) for
  each of the ~80 tests. The schema is the one the LMS serves at /api/v1/schema/.
- **Data**: a course with lessons and assignments (one released, one not), two learners with
  grades and progress, an instructor, staff, a notification for each; the LMS talks to a fake
  grader. Generated path parameters are drawn from these as well as from the schema, so
  operations also find something.
- **Callers**: DRF tokens. The fuzzing and stateful phases run as each of the learner, the
  instructor and staff. The coverage phase (each parameter's and field's boundaries, and each way
  to break them) sends the same requests whoever asks, so it runs once per operation as its most
  capable caller: staff, or for the grade pushes the grader's service account (anyone else gets
  403 before the body is read).
- **Checks**: all of schemathesis's (max_response_time aside: no timing assertions). One is told
  what this API does on purpose: a well-formed body or list of submissions that names a lesson,
  course, assignment, learner or submission that does not exist is refused with 400
  (test_api_courses.py, test_api_grades.py, test_api_grading.py), where schemathesis expects
  schema-valid data to be accepted; so are the board's writes whose text is blank or longer
  than the board takes, that name a post, page, course or member that is not there, or review
  a post that is not held (the board's rules, lms.community.services; test_api_board.py).
- **Bounded**: Hypothesis runs derandomized (the same requests every run), without an example
  database, with few examples per operation.
"""

from __future__ import annotations

import datetime as dt

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token

from lms.community.models import Post, PostStatus
from lms.community.selectors import viewer
from lms.community.services import ban, create_thread, reply, report
from lms.courses.models import EnrollmentRole
from lms.courses.services import enroll
from lms.gradebook.services import ensure_grader_account, record_grade
from lms.notifications.services import Event, notify
from tests.support.fake_grader import TOKEN as FAKE_GRADER_TOKEN
from tests.support.fake_grader import FakeGrader
from tests.support.lms_factories import (
    AssignmentFactory,
    CourseFactory,
    EnrollmentFactory,
    InstructorFactory,
    LessonFactory,
    LessonProgressFactory,
    StaffFactory,
    UserFactory,
)

CALLERS = ["learner", "instructor", "staff"]
GRADE_PUSHES = {"POST /api/v1/grades/", "PUT /api/v1/grades/"}
GRADER_TOKEN = "grader-token-for-the-contract-tests-0123"

REFUSES_UNKNOWN_NAMES = """
[[operations]]
include-name = [
    "POST /api/v1/progress/",
    "PUT /api/v1/progress/",
    "POST /api/v1/grades/",
    "PUT /api/v1/grades/",
    "POST /api/v1/courses/{course_slug}/assignments/{nbgrader_name}/regrade/",
    "POST /api/v1/courses/{course_slug}/threads/",
    "POST /api/v1/courses/{course_slug}/threads/{id}/replies/",
    "POST /api/v1/courses/{course_slug}/threads/{id}/move/",
    "PATCH /api/v1/courses/{course_slug}/posts/{id}/",
    "POST /api/v1/courses/{course_slug}/posts/{id}/report/",
    "POST /api/v1/courses/{course_slug}/posts/{id}/review/",
    "POST /api/v1/courses/{course_slug}/bans/",
]
checks.positive_data_acceptance.expected-statuses = [
    "2xx", "400", "401", "403", "404", "409", "429", "5xx"
]
"""


def load_schema(phases: str) -> schemathesis.BaseSchema:
    config = schemathesis.Config.from_str(phases + REFUSES_UNKNOWN_NAMES)
    return schemathesis.openapi.from_wsgi(
        "/api/v1/schema/?format=json", get_wsgi_application(), config=config
    )


fuzzed = load_schema("[phases.coverage]\nenabled = false\n")
covered = load_schema("[phases.fuzzing]\nenabled = false\n[phases.stateful]\nenabled = false\n")

# What the world fixture creates, by path parameter name.
REAL: dict[str, list] = {}


def draw_real_ones_too(context, strategy):
    """Path parameters: the schema's strategy, or the names and ids of things that exist."""
    names = [parameter.name for parameter in context.operation.path_parameters]
    if not names:
        return strategy
    real = st.deferred(
        lambda: st.fixed_dictionaries({name: st.sampled_from(REAL[name]) for name in names})
    )
    return st.one_of(real, strategy)


for loaded in (fuzzed, covered):
    loaded.hook("before_generate_path_parameters")(draw_real_ones_too)

# Each example is a request: slow to make, made with the module's data and the test's database
# transaction on purpose (Hypothesis's health checks would refuse both), and timed by nobody.
BOUNDED = settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def grader_service():
    fake = FakeGrader().start()
    fake.add_submission("python-101", "ps1-basics", learner="grace")
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, grader_service):
    """The data every test of the module finds, in a transaction rolled back at its end (each
    test's own writes roll back at the test's end). The callers' tokens by role."""
    with django_db_blocker.unblock(), transaction.atomic():
        course = CourseFactory(slug="python-101", title="Python 101")
        lessons = [
            LessonFactory(parent=course, slug="basics", title="Basics"),
            LessonFactory(parent=course, slug="functions", title="Functions"),
        ]
        ps1 = AssignmentFactory(parent=course, slug="ps1-basics", nbgrader_name="ps1-basics")
        AssignmentFactory(
            parent=course,
            slug="exam",
            nbgrader_name="exam",
            release_at=timezone.now() + dt.timedelta(days=30),
            due_at=timezone.now() + dt.timedelta(days=31),
        )
        learner = UserFactory(username="grace")
        other = UserFactory(username="linus")
        instructor = InstructorFactory(username="ada")
        staff = StaffFactory(username="root-admin")
        enrollments = [
            EnrollmentFactory(user=learner, course=course),
            EnrollmentFactory(user=other, course=course),
            enroll(instructor, course, EnrollmentRole.INSTRUCTOR),
        ]
        grades = [
            record_grade(
                assignment=ps1,
                learner=user,
                submission_id=f"sub-{user.username}",
                score=score,
                max_score="10",
                submitted_at=timezone.now() - dt.timedelta(hours=1),
                graded_at=timezone.now(),
                feedback_html="<p>Well done</p>",
                breakdown=[{"id": "t1", "score": 4.0, "max_score": 4.0}],
            )[0]
            for user, score in [(learner, "7.50"), (other, "9")]
        ]
        progress = [
            LessonProgressFactory(user=learner, lesson=lessons[0]),
            LessonProgressFactory(user=other, lesson=lessons[1]),
        ]
        told = notify(
            Event(kind="reply", text="answered in “Loops”", url="/", course=course),
            [learner, other, instructor, staff],
        )
        ensure_grader_account(GRADER_TOKEN)
        board = board_of(course, learner, other, instructor)
        REAL.update(
            slug=["python-101", "basics"],
            course_slug=["python-101"],
            nbgrader_name=["ps1-basics", "exam"],
            id=[row.pk for row in [*enrollments, *grades, *progress, *board, *told]],
        )
        tokens = {
            role: Token.objects.create(user=user).key
            for role, user in [("learner", learner), ("instructor", instructor), ("staff", staff)]
        }
        yield {**tokens, "grader": GRADER_TOKEN}
        transaction.set_rollback(True)
    REAL.clear()


def board_of(course, learner, other, instructor) -> list:
    """The course's board: a question with an answer and a comment, a post held for review, a
    report and a ban (on a third member)."""
    as_learner = viewer(learner, course)
    thread, _ = create_thread(as_learner, kind="question", title="Loops", body="How?")
    answer, _ = reply(viewer(other, course), thread, body="Use `for`.")
    comment, _ = reply(as_learner, thread, body="Thanks!", parent=answer)
    held = Post.objects.create(
        thread=thread, kind="answer", author=other, body="held", html="<p>held</p>",
        status=PostStatus.HELD, held_for="ps1-basics",
    )
    report(as_learner, answer, "Too short")
    third = UserFactory(username="mallory")
    EnrollmentFactory(user=third, course=course)
    banned = ban(viewer(instructor, course), third, days=2, reason="Spam")
    return [thread, thread.opening_post, answer, comment, held, banned]


@pytest.fixture(autouse=True)
def _lms_on_the_fake_grader(settings, grader_service):
    settings.LMS_GRADER_API_URL = grader_service.url
    settings.LMS_HUB_SERVICE_TOKEN = FAKE_GRADER_TOKEN
    settings.LMS_GRADER_TIMEOUT = 1.0


@pytest.fixture(autouse=True)
def _requests_in_the_tests_transaction():
    """Django closes the database connection after each request it serves; its test client
    stops that, and so do we, or the first request would end the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def tokens(world, db):
    return world


def signed_in(token: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}"}


@pytest.mark.parametrize("role", CALLERS)
@fuzzed.parametrize()
@BOUNDED
def test_every_operation_keeps_to_the_schema_for_each_caller(case, tokens, role):
    case.call_and_validate(headers=signed_in(tokens[role]))


@covered.parametrize()
@BOUNDED
def test_every_parameters_boundaries_and_breakages_keep_to_the_schema(case, tokens):
    role = "grader" if case.operation.label in GRADE_PUSHES else "staff"
    case.call_and_validate(headers=signed_in(tokens[role]))


@pytest.mark.parametrize("role", CALLERS)
def test_sequences_of_calls_keep_to_the_schema_for_each_caller(tokens, role):
    """The stateful phase: chains of operations linked by what one answers and the next takes
    (schemathesis infers the links: a list's slugs and ids into the detail and its actions)."""
    headers = signed_in(tokens[role])

    class AsCaller(fuzzed.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"headers": headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            # As call_and_validate does: the checks know the token is the caller's own, not
            # one generated from the schema's security scheme.
            case.validate_response(
                response,
                additional_checks=additional_checks,
                headers=headers,
                transport_kwargs=kwargs,
                recorder=self.recorder,
            )

    AsCaller.run(settings=settings(BOUNDED, max_examples=10, stateful_step_count=6))
