"""pytest: a real PostgreSQL from DATABASE_URL (make test starts one), fast hashing, a signing
key generated for the test run."""

from .base import *  # noqa: F403
from .base import DATABASES, LOGGING, OAUTH2_PROVIDER, REST_FRAMEWORK
from .secrets import new_rsa_private_key

SECRET_KEY = "test-only-secret-key-not-for-production"  # noqa: S105
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"anon": "1000/min", "user": "10000/min", "enrollment": "1000/min"},
}
OAUTH2_PROVIDER = {**OAUTH2_PROVIDER, "OIDC_RSA_PRIVATE_KEY": new_rsa_private_key()}
# Live-server threads must not keep connections open, or the test database cannot be dropped.
DATABASES["default"]["CONN_MAX_AGE"] = 0
# Page-created and task logs drown test output; warnings and errors still show.
LOGGING = {**LOGGING, "root": {**LOGGING["root"], "level": "WARNING"}}
# The Discourse sync runs in the committing thread: the test's transaction is invisible to others.
DISCOURSE_SYNC_IN_BACKGROUND = False
