"""Production: every secret must come from the environment (or a *_FILE path); refuse to start
without them rather than run with a guessable default."""

import os

from .base import *  # noqa: F403
from .base import OAUTH2_PROVIDER
from .secrets import required_secret

SECRET_KEY = required_secret("LMS_SECRET_KEY")
OAUTH2_PROVIDER = {
    **OAUTH2_PROVIDER,
    "OIDC_RSA_PRIVATE_KEY": required_secret("OIDC_RSA_PRIVATE_KEY"),
}
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = os.environ.get("LMS_INSECURE_COOKIES", "") != "1"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
