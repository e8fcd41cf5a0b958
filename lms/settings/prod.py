"""Production: every secret must come from the environment (or a *_FILE path); refuse to start
without them rather than run with a guessable default."""

from .base import *  # noqa: F403
from .base import OAUTH2_PROVIDER, SECRET_KEY, environment
from .secrets import required

SECRET_KEY = required(SECRET_KEY, "LMS_SECRET_KEY (or LMS_SECRET_KEY_FILE)")
OAUTH2_PROVIDER = {
    **OAUTH2_PROVIDER,
    "OIDC_RSA_PRIVATE_KEY": required(
        OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"],
        "OIDC_RSA_PRIVATE_KEY (or OIDC_RSA_PRIVATE_KEY_FILE, or OIDC_RSA_PRIVATE_KEY_BASE64)",
    ),
}
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = not environment.insecure_cookies
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# With secure cookies, the LMS's cookies carry the __Host- prefix: a browser accepts such a cookie
# only from the LMS's own host, without a Domain, so no other host below the same registrable
# domain (a learner's server, on a subdomain of the hub's host) can set ("toss") a session or
# CSRF cookie the LMS would read (docs/architecture.md, "Security model").
if SESSION_COOKIE_SECURE:
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
