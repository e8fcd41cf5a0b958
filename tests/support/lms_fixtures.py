"""The LMS's test fixtures, shared by the folders that test the LMS (tests/integration/lms,
tests/security): each folder's conftest.py imports them all (``from tests.support.lms_fixtures
import *``), so they are written once. LMS tests run against the real PostgreSQL named by
DATABASE_URL (``make test`` starts it).

The people and the course (``course``, ``instructor``, ``learner``, ...), fakes of the hub
services the LMS calls (``fake_grader``, ``fake_tutor``), Discourse (``discourse``,
``fake_discourse``: off unless a test asks for it), and the LMS as OpenID Connect provider with
the hub's side of the sign-in played over real HTTP (``oidc_issuer``, ``hub_client``,
``relying_party``, :class:`HubRelyingParty`)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from lms.courses.models import EnrollmentRole
from lms.courses.services import enroll
from tests.support.fake_discourse import API_KEY as FAKE_DISCOURSE_API_KEY
from tests.support.fake_discourse import API_USERNAME as FAKE_DISCOURSE_API_USERNAME
from tests.support.fake_discourse import CONNECT_SECRET as DISCOURSE_CONNECT_SECRET
from tests.support.fake_discourse import FakeDiscourse
from tests.support.fake_grader import TOKEN as FAKE_GRADER_TOKEN
from tests.support.fake_grader import FakeGrader
from tests.support.fake_tutor import TOKEN as FAKE_TUTOR_TOKEN
from tests.support.fake_tutor import FakeTutor
from tests.support.lms_factories import PASSWORD as FACTORY_PASSWORD
from tests.support.lms_factories import (
    AssignmentFactory,
    CourseFactory,
    EnrollmentFactory,
    InstructorFactory,
    LessonFactory,
    StaffFactory,
    UserFactory,
)

__all__ = [  # what ``import *`` gives a conftest: the fixtures (autouse ones included)
    "_no_discourse_unless_a_test_configures_one",
    "_no_grader_unless_a_test_starts_one",
    "_no_tutor_unless_a_test_starts_one",
    "_real_postgresql",
    "callers",
    "course",
    "discourse",
    "fake_discourse",
    "fake_grader",
    "fake_tutor",
    "hub_client",
    "instructor",
    "learner",
    "oidc_issuer",
    "other_course_instructor",
    "other_learner",
    "relying_party",
    "staff",
    "wagtail_initial_tree",
]


@pytest.fixture(autouse=True)
def _real_postgresql():
    """Refuse to run the LMS suite on anything but PostgreSQL: production runs on it (through
    django-prometheus's backend of it, which counts queries)."""
    assert connection.vendor == "postgresql", (
        "LMS tests need PostgreSQL: run them with `make test` (it sets DATABASE_URL)"
    )


@pytest.fixture(autouse=True)
def _no_grader_unless_a_test_starts_one(settings):
    """No test talks to a grader the environment may name; ``fake_grader`` starts one."""
    settings.LMS_GRADER_API_URL = ""
    settings.LMS_HUB_SERVICE_TOKEN = ""


@pytest.fixture
def fake_grader(settings):
    """The grader's HTTP API played by a local server (tests/support/fake_grader.py), with the
    LMS pointed at it; a short timeout, so a hanging grader costs a second."""
    fake = FakeGrader().start()
    settings.LMS_GRADER_API_URL = fake.url
    settings.LMS_HUB_SERVICE_TOKEN = FAKE_GRADER_TOKEN
    settings.LMS_GRADER_TIMEOUT = 1.0
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def _no_tutor_unless_a_test_starts_one(settings):
    """No test talks to a tutor the environment may name; ``fake_tutor`` starts one."""
    settings.LMS_TUTOR_API_URL = ""


@pytest.fixture
def fake_tutor(settings):
    """The tutor's HTTP API played by a local server (tests/support/fake_tutor.py), with the
    LMS pointed at it; a short timeout, so a hanging tutor costs a second."""
    fake = FakeTutor().start()
    settings.LMS_TUTOR_API_URL = fake.url
    settings.LMS_HUB_SERVICE_TOKEN = FAKE_TUTOR_TOKEN
    settings.LMS_TUTOR_TIMEOUT = 1.0
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def _no_discourse_unless_a_test_configures_one(settings):
    """No test talks to a Discourse the environment may name; ``discourse`` and
    ``fake_discourse`` configure one."""
    settings.DISCOURSE_URL = ""
    settings.DISCOURSE_CONNECT_SECRET = ""
    settings.DISCOURSE_API_KEY = ""


@pytest.fixture
def discourse(settings):
    """DiscourseConnect configured (no admin API): Discourse at a URL never contacted."""
    settings.DISCOURSE_URL = "https://forum.school.example"
    settings.DISCOURSE_CONNECT_SECRET = DISCOURSE_CONNECT_SECRET
    return settings.DISCOURSE_URL


@pytest.fixture
def fake_discourse(settings):
    """Discourse's admin API played by a local server (tests/support/fake_discourse.py), with
    DiscourseConnect and the API configured; a short timeout."""
    fake = FakeDiscourse().start()
    settings.DISCOURSE_URL = fake.url
    settings.DISCOURSE_CONNECT_SECRET = DISCOURSE_CONNECT_SECRET
    settings.DISCOURSE_API_KEY = FAKE_DISCOURSE_API_KEY
    settings.DISCOURSE_API_USERNAME = FAKE_DISCOURSE_API_USERNAME
    settings.DISCOURSE_TIMEOUT = 1.0
    yield fake
    fake.stop()


@pytest.fixture
def course(db):
    """A course with two lessons and one assignment, an instructor and one learner."""
    course = CourseFactory(slug="python-101", title="Python 101")
    LessonFactory(parent=course, slug="basics", title="Basics")
    LessonFactory(parent=course, slug="functions", title="Functions")
    AssignmentFactory(parent=course, slug="ps1-basics", nbgrader_name="ps1-basics")
    return course


@pytest.fixture
def instructor(course):
    user = InstructorFactory(username="ada")
    enroll(user, course, EnrollmentRole.INSTRUCTOR)  # also joins the course's admin group
    return user


@pytest.fixture
def learner(course):
    user = UserFactory(username="grace")
    EnrollmentFactory(user=user, course=course)
    return user


@pytest.fixture
def other_learner(course):
    user = UserFactory(username="linus")
    EnrollmentFactory(user=user, course=course)
    return user


@pytest.fixture
def other_course_instructor(db):
    other = CourseFactory(slug="data-201", title="Data 201")
    user = InstructorFactory(username="barbara")
    enroll(user, other, EnrollmentRole.INSTRUCTOR)
    return user


@pytest.fixture
def staff(db):
    return StaffFactory(username="root-admin")


# --- OpenID Connect: the LMS as the hub's identity provider (test_oidc_*.py) ----------------

import warnings  # noqa: E402
from html.parser import HTMLParser  # noqa: E402
from urllib.parse import urljoin  # noqa: E402

import requests  # noqa: E402
from authlib.common.security import generate_token  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402

with warnings.catch_warnings():
    # Authlib 1.9 deprecates authlib.jose in favour of joserfc (removal in Authlib 2). The tests
    # verify ID tokens with it as Authlib 1.x relying parties do; move to joserfc with Authlib 2.
    warnings.simplefilter("ignore")
    from authlib.jose import JsonWebKey, JsonWebToken
from authlib.oidc.core import CodeIDToken  # noqa: E402

HUB_CLIENT_ID = "jupyterhub"
HUB_CLIENT_SECRET = "hub-client-secret-for-tests-only"
HUB_CALLBACK_URL = "http://localhost:8001/hub/oauth_callback"  # the hub's default; never contacted
PASSWORD = FACTORY_PASSWORD  # what the login form is given


class _FormInputs(HTMLParser):
    """The named inputs of each form on a page (to fill the login form like a browser)."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict[str, str]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({})
        elif tag == "input" and self.forms and attrs.get("name"):
            self.forms[-1][attrs["name"]] = attrs.get("value") or ""


def _location(response) -> str:
    return urljoin(response.url, response.headers["Location"])


class HubRelyingParty:
    """The hub's side of the sign-in, played by Authlib over real HTTP against the live LMS: it
    reads the discovery document, sends the browser to the authorization endpoint with PKCE
    (S256) and a nonce, logs in through the real /login/ form (same ``requests`` session, so the
    session cookie carries over), exchanges the code and verifies the ID token against the JWKS.
    ``responses`` records every HTTP response, so tests can inspect status codes and headers."""

    def __init__(
        self,
        issuer,
        client_id,
        client_secret,
        *,
        scope="openid profile email groups",
        auth_method="client_secret_post",
    ):
        self.client_id = client_id
        self.metadata = requests.get(
            f"{issuer}/.well-known/openid-configuration", timeout=10
        ).json()
        self.session = OAuth2Session(
            client_id,
            client_secret,
            scope=scope,
            redirect_uri=HUB_CALLBACK_URL,
            code_challenge_method="S256",
            token_endpoint_auth_method=auth_method,
        )
        self.responses: list[requests.Response] = []
        self.session.hooks["response"].append(lambda response, **_: self.responses.append(response))
        self.code_verifier = generate_token(48)
        self.nonce = generate_token(20)

    def authorize(self, user, *, pkce=True, **params) -> str:
        """Sign ``user`` in through the authorization endpoint; the URL the LMS redirects the
        browser back to (the hub's callback with ``code`` and ``state``, or an ``error``)."""
        url, self.state = self.session.create_authorization_url(
            self.metadata["authorization_endpoint"],
            code_verifier=self.code_verifier if pkce else None,
            nonce=self.nonce,
            **params,
        )
        response = self.browse("GET", url)
        for _ in range(5):  # authorize → login page → POST → authorize → the hub's callback
            if not response.is_redirect or _location(response).startswith(HUB_CALLBACK_URL):
                break
            response = self.browse("GET", _location(response))
            if response.status_code == 200 and 'name="password"' in response.text:
                response = self._log_in(response, user)
        assert response.is_redirect, (response.status_code, response.text[:500])
        assert _location(response).startswith(HUB_CALLBACK_URL), _location(response)
        return _location(response)

    def _log_in(self, login_page, user):
        parser = _FormInputs()
        parser.feed(login_page.text)
        form = next(f for f in parser.forms if "password" in f)
        form.update(username=user.username, password=PASSWORD)
        return self.browse("POST", login_page.url, data=form)

    def browse(self, method, url, **kwargs):
        """What the user's browser does: no bearer token, redirects one at a time."""
        return self.session.request(
            method, url, withhold_token=True, allow_redirects=False, **kwargs
        )

    def fetch_token(self, callback_url, **params):
        params.setdefault("code_verifier", self.code_verifier)
        return self.session.fetch_token(
            self.metadata["token_endpoint"], authorization_response=callback_url, **params
        )

    def verify_id_token(self, token):
        """The ID token's claims, once its RS256 signature (against the JWKS from discovery),
        iss, aud, exp, iat, nonce and at_hash are verified."""
        jwks = requests.get(self.metadata["jwks_uri"], timeout=10).json()
        claims = JsonWebToken(["RS256"]).decode(
            token["id_token"],
            JsonWebKey.import_key_set(jwks),
            claims_cls=CodeIDToken,
            claims_options={
                "iss": {"essential": True, "value": self.metadata["issuer"]},
                "aud": {"essential": True, "value": self.client_id},
            },
            claims_params={
                "nonce": self.nonce,
                "client_id": self.client_id,
                "access_token": token["access_token"],
            },
        )
        claims.validate()
        return claims

    def sign_in(self, user):
        """The whole flow: ``(token response, verified ID token claims)``."""
        token = self.fetch_token(self.authorize(user))
        return token, self.verify_id_token(token)

    def userinfo(self, access_token=None):
        """The userinfo response for ``access_token`` (default: the one fetched last)."""
        access_token = access_token or self.session.token["access_token"]
        return self.session.get(
            self.metadata["userinfo_endpoint"],
            headers={"Authorization": f"Bearer {access_token}"},
            withhold_token=True,
        )


@pytest.fixture
def wagtail_initial_tree(transactional_db):
    """Wagtail's initial rows (the default locale and the page tree's root), created by its
    migrations and removed by every transactional test's flush: put them back, so that the
    course fixtures work in transactional (live server) tests, also with ``--reuse-db``."""
    from django.conf import settings
    from wagtail.coreutils import get_supported_content_language_variant
    from wagtail.models import Locale, Page

    Locale.objects.get_or_create(
        language_code=get_supported_content_language_variant(settings.LANGUAGE_CODE)
    )
    if Page.get_first_root_node() is None:
        Page.add_root(instance=Page(title="Root", slug="root"))


@pytest.fixture
def oidc_issuer(live_server, settings, monkeypatch):
    """The running LMS as OIDC provider. Its issuer is the live server's URL, set the way
    production sets it (OIDC_ISS_ENDPOINT, from LMS_PUBLIC_URL)."""
    from django.db import connections

    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": live_server.url}
    # The live server's request threads outlive the test while a client keeps its connection
    # alive; with persistent database connections (CONN_MAX_AGE) they would also keep a
    # database session open, and the test database could not be dropped at the end.
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    return live_server.url


@pytest.fixture
def hub_client(oidc_issuer):
    """The hub registered as the LMS's confidential OIDC client."""
    from lms.sso.services import register_confidential_client

    app, _ = register_confidential_client(
        HUB_CLIENT_ID, HUB_CLIENT_SECRET, [HUB_CALLBACK_URL], "JupyterHub"
    )
    return app


@pytest.fixture
def relying_party(oidc_issuer, hub_client):
    """A factory of hub-side OIDC clients: ``relying_party(scope=..., auth_method=...)``."""

    def make(client_id=HUB_CLIENT_ID, client_secret=HUB_CLIENT_SECRET, **options):
        return HubRelyingParty(oidc_issuer, client_id, client_secret, **options)

    return make


# -- who knocks: the five kinds of caller of a course's pages (permission matrices) -------------

ROLES = ["course_learner", "other_course_learner", "instructor", "staff", "anonymous"]


@pytest.fixture
def callers(course, learner, instructor, staff):
    """One person of each of :data:`ROLES` (``None``: not signed in)."""
    stranger = UserFactory(username="eve")
    EnrollmentFactory(user=stranger)
    return {"course_learner": learner, "other_course_learner": stranger,
            "instructor": instructor, "staff": staff, "anonymous": None}


def client_for(user) -> Client:
    """A test client signed in as ``user`` (``None``: anonymous)."""
    client = Client()
    if user is not None:
        client.force_login(user)
    return client
