"""Settings shared by every environment. Anything secret or site-specific comes from the
environment, read once through ``environment.LMSEnvironment`` (see docs/configuration.md): a bad
value stops the LMS naming its variable. dev/test/prod only change what differs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from csp.constants import NONE, SELF

from servicekit.state import lms_database, lms_media

from .environment import LMSEnvironment

environment = LMSEnvironment.from_env()  # lower case: not a Django setting itself

LMS_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = LMS_DIR.parent
VAR_DIR = environment.var_dir or REPO_DIR / "var"

SECRET_KEY = environment.secret_key
# The LMS's public origin: the OIDC issuer, and the base of links the admin sends.
LMS_PUBLIC_URL = environment.public_url
DEBUG = False
ALLOWED_HOSTS = environment.hosts()
CSRF_TRUSTED_ORIGINS = environment.trusted_origins()

INSTALLED_APPS = [
    "lms.accounts",
    "lms.base",
    "lms.courses",
    "lms.gradebook",
    "lms.discourse",
    "lms.tutor",
    "lms.community",
    "lms.notifications",
    "lms.review",
    "lms.groups",
    "lms.sso",
    "lms.api",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "oauth2_provider",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_prometheus",
    "django_tasks",
    "django_tasks_db",
]

# django-prometheus's two middlewares wrap all others: requests, responses and their latency,
# by view and status, for /metrics (lms.base.views.metrics).
MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # answers asked for several times in one request are read once (lms/base/request_memo.py)
    "lms.base.request_memo.RequestMemoMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "lms.base.page_policy.PagePolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # last, as django-axes asks: it turns a refused sign-in into the lockout page (which
    # django-prometheus, just before it, counts as the answer it is)
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "lms.urls"
WSGI_APPLICATION = "lms.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [LMS_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "lms.base.context_processors.studio",
                "lms.accounts.context_processors.admin_access",
                "lms.courses.context_processors.catalogue",
                "lms.notifications.context_processors.bell",
            ],
        },
    },
]

DATABASES = {"default": environment.database(default_sqlite=lms_database(VAR_DIR))}

# Caches, each in the memory of one process (a gunicorn worker): "default" is Django's own (REST
# framework's throttles count in it); "versioned" holds answers made of published content (page
# routes, course outlines) and of permissions, each for one version of its data
# (lms/base/versioned_cache.py), which the database decides for every process: the workers need
# no shared cache to see an editor's or an admin's change at their next request.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "versioned": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "versioned",
        "TIMEOUT": 3600,
        "OPTIONS": {"MAX_ENTRIES": 5000},
    },
    # Notebooks rendered into lesson pages (lms/base/notebooks.py), as files every LMS process
    # on the machine reads, kept across restarts: each is rendered once, not once per worker.
    "notebooks": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": VAR_DIR / "cache" / "notebooks",
        "TIMEOUT": None,
        "OPTIONS": {"MAX_ENTRIES": 2000},
    },
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "/"

# --- Sign-in throttling (django-axes; lms/accounts/signin.py) --------------------------------
# Every password check goes through authenticate(): the throttle first, then the password.
AUTHENTICATION_BACKENDS = [
    "lms.accounts.signin.ThrottledSignIn",
    # Django's ModelBackend, which takes the person read with the session (one query a page)
    "lms.accounts.backends.UserBackend",
]
# Django's database sessions, each row with its person's id, read with them
# (lms/accounts/sessions.py)
SESSION_ENGINE = "lms.accounts.sessions"
AXES_HANDLER = "lms.accounts.signin.SignInThrottle"
# Failures counted per account and, separately, per address; each has its limit.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = environment.login_failures_per_account
LMS_LOGIN_FAILURES_PER_ADDRESS = environment.login_failures_per_address
AXES_COOLOFF_TIME = dt.timedelta(minutes=environment.login_lockout_minutes)
# Attempts during a lockout are refused, not counted: the time the page gives holds.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_USERNAME_CALLABLE = "lms.accounts.signin.attempted_username"
AXES_CLIENT_IP_CALLABLE = "lms.base.client_address.client_address"
AXES_LOCKOUT_CALLABLE = "lms.accounts.views.locked_out"
# Failed attempts are kept (they are the lockouts); successful sign-ins are not logged.
AXES_DISABLE_ACCESS_LOG = True
# The proxies whose X-Forwarded-For is believed (lms/base/client_address.py).
LMS_TRUSTED_PROXIES = environment.proxies()

LANGUAGE_CODE = "en-us"
TIME_ZONE = environment.time_zone
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_URL = "/media/"
MEDIA_ROOT = lms_media(VAR_DIR)

# --- Page policy (django-csp; lms/base/page_policy.py) ---------------------------------------
# Every page: scripts, styles, fonts and fetches from the LMS itself only, never inline; images
# also as data: URIs (notebook outputs, Bootstrap's icons); no plugins, no <base>, no framing.
# Forms post to the LMS, and the sign-in's redirect after its form ends at the hub's
# oauth_callback (Chromium holds that redirect to form-action too).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF, environment.hub_origin()],
        "frame-ancestors": [NONE],
    },
}
# The Wagtail admin but its sign-in page: Wagtail's pages still need inline script and style
# (lms/base/page_policy.py); its live preview frames LMS pages; image previews are blob: URLs.
CONTENT_SECURITY_POLICY_WAGTAIL_ADMIN = {
    "DIRECTIVES": {
        **CONTENT_SECURITY_POLICY["DIRECTIVES"],
        "script-src": [SELF, "'unsafe-inline'"],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:", "blob:"],
        "frame-ancestors": [SELF],
    },
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Wagtail -------------------------------------------------------------------------------
WAGTAIL_SITE_NAME = "Python Learning Studio"
# No avatars from gravatar.com: nothing on a page comes from another origin.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
# Nor does the admin's dashboard ask releases.wagtail.org for a newer version (the page policy
# would refuse it; upgrades come with this repository's constraints).
WAGTAIL_ENABLE_UPDATE_CHECK = False
WAGTAILADMIN_BASE_URL = LMS_PUBLIC_URL
WAGTAILDOCS_EXTENSIONS = ["csv", "pdf", "txt", "ipynb", "zip"]

# --- Studio --------------------------------------------------------------------------------
# Where course folders (courses/<slug>/course.yml) live: the notebook block renders from here.
STUDIO_COURSES_DIR = environment.courses_dir or REPO_DIR / "courses"
# The hub's public URL: "Open in JupyterLab" deep-links there (user-redirect).
STUDIO_HUB_URL = environment.hub_url

# --- The grader service (lms.gradebook.grader) -----------------------------------------------
# Its HTTP API as the LMS reaches it, server to server (empty: no grader; the instructor actions
# say they are unavailable). The token is the hub API token of the hub service ``lms``, which the
# grader trusts to act for instructors; the LMS decides who is one.
LMS_GRADER_API_URL = environment.grader_api_url
LMS_HUB_SERVICE_TOKEN = environment.hub_service_token
# Seconds the LMS waits for the grader's answer (a release runs nbgrader: give it time).
LMS_GRADER_TIMEOUT = environment.grader_timeout

# --- The tutor service (lms.tutor.client) ----------------------------------------------------
# Its HTTP API as the LMS reaches it (empty: no tutor; the course's tutor page says so). The
# LMS reads summaries and exchanges for instructors with the same hub token as the grader's.
LMS_TUTOR_API_URL = environment.tutor_api_url
LMS_TUTOR_TIMEOUT = environment.tutor_timeout

# --- The school's Discourse (lms.discourse) ---------------------------------------------------
# With the URL and the DiscourseConnect secret set, the LMS signs people in to Discourse
# (/discourse/sso) and the course pages link to each course's category; with the API key too, it
# keeps a category and a group per course in step with enrollments (docs/architecture.md).
DISCOURSE_URL = environment.discourse_url
DISCOURSE_CONNECT_SECRET = environment.discourse_connect_secret
DISCOURSE_API_KEY = environment.discourse_api_key
DISCOURSE_API_USERNAME = environment.discourse_api_username
DISCOURSE_TIMEOUT = environment.discourse_timeout
# The admin API calls run after the enrollment's transaction commits, in a thread of their own,
# never in the request (False: in the committing thread, as the tests want).
DISCOURSE_SYNC_IN_BACKGROUND = True
# --- Metrics for Prometheus (lms.base.views.metrics) -------------------------------------------
# GET /metrics with "Authorization: Bearer <STUDIO_METRICS_TOKEN>"; empty: /metrics answers 404.
# Under gunicorn each worker counts into the folder lms.up names (servicekit.metrics).
STUDIO_METRICS_TOKEN = environment.metrics_token
# --- The course community (lms.community) ----------------------------------------------------
# Posts per member and period on the boards (a rate such as 10/min; instructors and staff are not
# limited), the longest post in characters, and how many @mentions of one post resolve.
LMS_COMMUNITY_POST_RATE = environment.community_post_rate
LMS_COMMUNITY_MAX_POST_CHARS = environment.community_max_post_chars
LMS_COMMUNITY_MAX_MENTIONS = environment.community_max_mentions

# --- Notifications (lms.notifications) and the background worker ------------------------------
# Tasks are rows in the LMS's database (django-tasks' database backend, django-tasks-db); the
# worker (`python -m lms worker`) runs them. Requests only enqueue, once their transaction commits.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# The hour (the LMS's time zone) the daily digest goes out.
LMS_NOTIFICATIONS_DIGEST_HOUR = environment.notifications_digest_hour
# Days a finished task's result stays in the database (the worker prunes older ones daily).
LMS_TASK_RESULTS_RETENTION_DAYS = environment.task_results_retention_days
# Email: through LMS_EMAIL_HOST's SMTP server when it is set; otherwise every message is written
# to a file under <var>/mail (make up), Django's file-based backend.
DEFAULT_FROM_EMAIL = environment.email_from
SERVER_EMAIL = environment.email_from
if environment.email_host:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = environment.email_host
    EMAIL_PORT = environment.email_port
    EMAIL_HOST_USER = environment.email_user
    EMAIL_HOST_PASSWORD = environment.email_password
    EMAIL_USE_TLS = environment.email_security == "starttls"
    EMAIL_USE_SSL = environment.email_security == "ssl"
    EMAIL_TIMEOUT = environment.email_timeout
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"

# --- Study groups (lms.groups) ---------------------------------------------------------------
# How long an invite link stays valid (seconds); the hub's API as the LMS reaches it, for the
# groups' shared workspaces (empty: none), called with LMS_HUB_SERVICE_TOKEN.
LMS_GROUPS_INVITE_MAX_AGE = environment.groups_invite_max_age
LMS_HUB_API_URL = environment.hub_api_url
LMS_HUB_API_TIMEOUT = environment.hub_api_timeout

# --- How the LMS starts (lms.up: make up, and the LMS's container) ---------------------------
LMS_BIND = environment.bind
LMS_WORKERS = environment.workers
LMS_THREADS = environment.threads  # per worker; more than 1: gunicorn's gthread workers
LMS_COLLECT_STATIC = environment.collect_static  # the image collects them when it is built
LMS_IMPORT_COURSES = environment.import_courses
LMS_SEED_DEMO = environment.seed_demo

# --- REST API ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
        "oauth2_provider.contrib.rest_framework.OAuth2Authentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "lms.api.throttling.AnonymousRateThrottle",
        "lms.api.throttling.CallerRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": environment.throttle_anon,
        "user": environment.throttle_user,
        "enrollment": environment.throttle_enrollment,
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Python Learning Studio LMS API",
    "DESCRIPTION": "Courses, lessons, assignments, enrollments, progress, grades and the "
    "course boards.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": environment.log_level},
}

# --- OpenID Connect provider (django-oauth-toolkit); see lms/sso ---------------------------
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    # The issuer (``iss`` of ID tokens, ``issuer`` of discovery) is the LMS's public origin, fixed
    # rather than derived from each request: the hub calls /o/token/ from inside its network, and
    # a request-derived issuer would then differ from the one the browser saw. Tests point it at
    # the live server. See lms/sso/urls.py.
    "OIDC_ISS_ENDPOINT": LMS_PUBLIC_URL,
    # OIDC_RSA_PRIVATE_KEY (or _FILE, or _BASE64); dev generates one if unset, prod requires it
    "OIDC_RSA_PRIVATE_KEY": environment.oidc_private_key(),
    # PKCE with S256 only: a challenge sent as `plain` (or without a method, which means plain)
    # is refused with invalid_request, and discovery lists only S256.
    "PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "OAUTH2_VALIDATOR_CLASS": "lms.sso.validators.StudioOAuth2Validator",
    "SCOPES": {
        "openid": "Sign you in with your studio account",
        "profile": "Your name and username",
        "email": "Your e-mail address",
        "groups": "Your courses and roles",
    },
    "DEFAULT_SCOPES": ["openid"],
    "ACCESS_TOKEN_EXPIRE_SECONDS": environment.oidc_access_token_seconds,
    "ID_TOKEN_EXPIRE_SECONDS": environment.oidc_id_token_seconds,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ROTATE_REFRESH_TOKEN": True,
}
