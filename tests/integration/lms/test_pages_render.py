"""Every page type renders with its key content, accessibly and with local assets only."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest
from django.conf import settings as django_settings
from django.contrib.staticfiles import finders
from django.utils import timezone

from lms.base.highlight import highlight_css
from lms.base.models import HomePage
from lms.courses.models import CourseIndexPage, CoursePage, LatePolicyMode, LessonPage
from lms.courses.selectors import jupyterlab_url
from lms.courses.services import mark_lesson_completed, mark_lesson_opened
from tests.support.lms_factories import AssignmentFactory, GradeFactory, LessonFactory

pytestmark = pytest.mark.django_db


class _Assets(HTMLParser):
    """Collects what a page loads (stylesheets, scripts, images, frames) and its labels."""

    def __init__(self):
        super().__init__()
        self.assets: list[str] = []
        self.labels: dict[str, str] = {}
        self.inputs: list[dict] = []
        self.landmarks: set[str] = set()
        self._label_for: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in {"header", "nav", "main", "footer"}:
            self.landmarks.add(tag)
        if tag == "link" and attrs.get("rel") == "stylesheet":
            self.assets.append(attrs["href"])
        if tag in {"script", "img", "iframe"} and attrs.get("src"):
            self.assets.append(attrs["src"])
        if tag == "label":
            self._label_for = attrs.get("for")
            self.labels.setdefault(self._label_for or "", "")
        if tag == "input":
            self.inputs.append(attrs)

    def handle_data(self, data):
        if self._label_for is not None:
            self.labels[self._label_for] += data.strip()

    def handle_endtag(self, tag):
        if tag == "label":
            self._label_for = None


def parse(response) -> _Assets:
    parser = _Assets()
    parser.feed(response.content.decode())
    return parser


def write_notebook(folder: Path, relative: str, *cells) -> Path:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=list(cells)), path)
    return path


@pytest.fixture
def courses_dir(settings, tmp_path):
    settings.STUDIO_COURSES_DIR = tmp_path
    return tmp_path


@pytest.fixture
def lesson(course, courses_dir):
    write_notebook(
        courses_dir / "python-101",
        "lessons/01-intro.ipynb",
        nbformat.v4.new_markdown_cell("# Variables\n\nA *variable* names a value."),
        nbformat.v4.new_code_cell(
            "answer = 6 * 7",
            outputs=[nbformat.v4.new_output("stream", name="stdout", text="42\n")],
            execution_count=1,
        ),
    )
    return LessonFactory(
        parent=course,
        slug="intro",
        title="Introduction",
        position=0,
        notebook_path="lessons/01-intro.ipynb",
        body=[
            ("heading", "Before you start"),
            ("code", {"language": "python", "code": "def greet(name):\n    return name"}),
            ("notebook", {"path": "lessons/01-intro.ipynb"}),
        ],
    )


def test_home_page_renders_intro_and_ways_in(client, course):
    home = HomePage.objects.get()

    response = client.get(home.url)

    assert response.status_code == 200
    html = response.content.decode()
    assert f'<h1 class="display-5 fw-bold">{home.title}</h1>' in html
    assert home.intro in html
    assert "Browse the courses" in html and "Sign in" in html


def test_every_page_links_the_catalogue_by_its_path(client, course):
    index = CourseIndexPage.objects.get()

    html = client.get(HomePage.objects.get().url).content.decode()

    assert index.url.startswith("/")
    assert f'<a class="btn btn-primary btn-lg" href="{index.url}">Browse the courses</a>' in html


def test_every_page_has_lang_title_landmarks_and_a_skip_link(client, course):
    response = client.get("/")

    html = response.content.decode()
    assert '<html lang="en"' in html
    assert re.search(r"<title>[^<]+ · Python Learning Studio</title>", html)
    assert parse(response).landmarks == {"header", "nav", "main", "footer"}
    assert '<a class="visually-hidden-focusable skip-link" href="#main">' in html
    assert 'id="main"' in html


def test_course_index_lists_live_courses_with_enroll_buttons(client, course, learner):
    index = CourseIndexPage.objects.get()
    closed = index.add_child(
        instance=CoursePage(
            title="Closed course", slug="closed", summary="x", enrollment_open=False
        )
    )
    other = index.add_child(instance=CoursePage(title="Open course", slug="open", summary="y"))

    client.force_login(learner)
    html = client.get(index.url).content.decode()

    assert "Python 101" in html and "You are enrolled" in html
    assert f'action="/enrollments/{other.slug}/enroll/"' in html
    assert f'action="/enrollments/{closed.slug}/enroll/"' not in html
    assert "Enrollment is closed" in html
    assert "2 lessons" in html


def test_course_index_asks_anonymous_visitors_to_sign_in_to_enroll(client, course):
    html = client.get(CourseIndexPage.objects.get().url).content.decode()

    assert "Sign in to enroll" in html
    assert "/login/?next=/courses/python-101/" in html


def test_course_page_shows_lessons_in_order_with_progress_and_assignments(client, course, learner):
    basics, functions = (
        LessonPage.objects.child_of(course).get(slug=s) for s in ("basics", "functions")
    )
    LessonPage.objects.filter(pk=basics.pk).update(position=1)
    LessonPage.objects.filter(pk=functions.pk).update(position=2)
    LessonFactory(parent=course, slug="first", title="First things", position=0)
    mark_lesson_completed(learner, basics)
    mark_lesson_opened(learner, functions)
    client.force_login(learner)

    response = client.get(course.url)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("First things") < html.index("Basics") < html.index("Functions")
    assert "Completed" in html and "Started" in html and "Not started" in html
    assert "1 of 3 lessons completed" in html and 'aria-valuenow="33"' in html
    assert "Problem set" in html and "<time datetime=" in html
    assert "Leave this course" in html
    assert "Learners' progress" not in html


def test_course_page_links_instructors_to_the_learners_view(client, course, instructor):
    client.force_login(instructor)

    html = client.get(course.url).content.decode()

    assert 'href="/courses/python-101/learners/"' in html
    assert "You teach this course" in html


def test_lesson_page_renders_heading_code_and_a_real_notebook(client, lesson, learner):
    client.force_login(learner)

    response = client.get(lesson.url)

    html = response.content.decode()
    assert response.status_code == 200
    assert '<h2 id="before-you-start">Before you start</h2>' in html
    assert '<span class="k">def</span>' in html and '<span class="nf">greet</span>' in html
    assert 'class="notebook"' in html
    assert "<h2>Variables</h2>" in html and "<em>variable</em>" in html
    assert "answer" in html and "42" in html
    assert "not available" not in html
    assert "Mark as complete" in html


def test_open_in_jupyterlab_deep_links_through_user_redirect(client, lesson, learner, settings):
    settings.STUDIO_HUB_URL = "https://hub.example.org"
    client.force_login(learner)

    html = client.get(lesson.url).content.decode()

    assert (
        'href="https://hub.example.org/hub/user-redirect/lab/tree/python-101/lessons/'
        '01-intro.ipynb"' in html
    )
    assert "Open in JupyterLab" in html


def test_jupyterlab_url_quotes_each_path_segment_and_refuses_escapes(settings):
    settings.STUDIO_HUB_URL = "http://hub.test:8001"

    assert jupyterlab_url("python-101", "lessons/week 1/Intro #1.ipynb") == (
        "http://hub.test:8001/hub/user-redirect/lab/tree/python-101/lessons/week%201/"
        "Intro%20%231.ipynb"
    )
    assert jupyterlab_url("python-101") == (
        "http://hub.test:8001/hub/user-redirect/lab/tree/python-101"
    )
    assert jupyterlab_url("python-101", "../other/secret.ipynb") is None
    assert jupyterlab_url("python-101", "/etc/passwd") is None


def test_anonymous_visitors_are_asked_to_sign_in_to_open_the_lesson(client, lesson):
    html = client.get(lesson.url).content.decode()

    assert "Sign in to open in JupyterLab" in html
    assert "user-redirect" not in html
    assert "Mark as complete" not in html


def test_signed_in_visitors_who_are_not_enrolled_get_no_jupyterlab_link(client, lesson):
    from tests.support.lms_factories import UserFactory

    client.force_login(UserFactory())
    html = client.get(lesson.url).content.decode()

    assert "user-redirect" not in html
    assert "Enroll in Python 101 to open this lesson in JupyterLab" in html


def test_assignment_page_shows_dates_late_policy_and_the_latest_grade(client, course, learner):
    release = timezone.now() - dt.timedelta(days=3)
    assignment = AssignmentFactory(
        parent=course,
        slug="ps2",
        title="Problem set 2",
        points=10,
        release_at=release,
        due_at=release + dt.timedelta(days=10),
        late_policy=LatePolicyMode.PENALTY,
        late_percent_per_day=10,
        late_cutoff_days=3,
        hints=["Split on whitespace."],
    )
    GradeFactory(
        assignment=assignment,
        learner=learner,
        score=7,
        max_score=10,
        counts=True,
        feedback_html="<p>Test <b>initials</b> failed</p>",
    )
    client.force_login(learner)

    response = client.get(assignment.url)

    html = response.content.decode()
    assert response.status_code == 200
    assert '<dt class="col-sm-4">Points</dt>' in html and ">10<" in html
    assert (
        "Late submissions are accepted up to 3 days after the due date, losing 10% of the score "
        "for each started day." in html
    )
    assert f'datetime="{assignment.due_at.isoformat()}"' in html
    assert "7 / 10" in html
    # Feedback is shown in a sandboxed frame, never as live markup in the page.
    assert '<iframe class="feedback-frame" sandbox' in html
    assert "&lt;p&gt;Test &lt;b&gt;initials&lt;/b&gt; failed&lt;/p&gt;" in html
    assert "Split on whitespace." in html


def test_assignment_page_says_when_late_work_is_refused(client, course):
    assignment = course.get_children().get(slug="ps1-basics").specific

    html = client.get(assignment.url).content.decode()

    assert "Late submissions are not accepted" in html


def test_pages_load_styles_and_scripts_from_this_site_only(client, lesson, learner):
    client.force_login(learner)
    urls = [
        "/",
        CourseIndexPage.objects.get().url,
        lesson.get_parent().url,
        lesson.url,
        "/dashboard/",
        "/no-such-page/",
    ]
    for url in urls:
        response = client.get(url)
        assets = parse(response).assets
        assert any("bootstrap.min.css" in a for a in assets), url
        for asset in assets:
            parts = urlsplit(asset)
            assert not parts.scheme and not parts.netloc, f"{url} loads {asset} from another host"
            assert asset.startswith(django_settings.STATIC_URL), asset
            assert finders.find(asset.removeprefix(django_settings.STATIC_URL)), asset


def test_login_page_has_labelled_fields_and_keeps_next(client):
    response = client.get("/login/?next=/dashboard/")

    page = parse(response)
    assert response.status_code == 200
    fields = {i["name"]: i for i in page.inputs}
    assert page.labels[fields["username"]["id"]] == "Username"
    assert page.labels[fields["password"]["id"]] == "Password"
    assert fields["next"]["value"] == "/dashboard/"
    assert fields["username"]["autocomplete"] == "username"


def test_signing_in_lands_on_the_dashboard(client, learner):
    response = client.post(
        "/login/", {"username": "grace", "password": "correct-horse-battery", "next": ""}
    )

    assert response.status_code == 302 and response["Location"] == "/dashboard/"


def test_wrong_password_is_reported_next_to_the_form(client, learner):
    response = client.post("/login/", {"username": "grace", "password": "nope"})

    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="alert"' in html and 'aria-describedby="login-errors"' in html


def test_unknown_address_renders_the_404_page(client, course):
    response = client.get("/courses/python-101/no-such-lesson/")

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_500_page_renders_without_a_request(client):
    from django.template.loader import render_to_string

    html = render_to_string("500.html")

    assert "Something went wrong" in html and '<html lang="en">' in html


def test_pygments_stylesheet_matches_the_highlighter():
    css = Path(finders.find("base/css/pygments.css")).read_text()

    assert css.strip() == highlight_css().strip(), (
        "regenerate it: python -c 'from lms.base.highlight import highlight_css; "
        "print(highlight_css())' > lms/base/static/base/css/pygments.css"
    )


@pytest.mark.django_db(transaction=True)
def test_site_structure_is_rebuilt_in_a_flushed_database(client):
    from django.core.management import call_command
    from wagtail.models import Page

    from lms.courses.services import ensure_site_structure

    call_command("flush", interactive=False, verbosity=0)
    assert Page.get_first_root_node() is None

    index = ensure_site_structure()

    assert index.get_parent().specific_class is HomePage
    assert client.get("/").status_code == 200
    assert client.get(index.url).status_code == 200
