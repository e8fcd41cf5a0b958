"""``make up`` on a laptop: embedded SQLite, a secret key and an OIDC signing key generated once
under var/secrets (an ignored folder), unless the environment provides them."""

from .base import *  # noqa: F403
from .base import OAUTH2_PROVIDER, VAR_DIR
from .secrets import file_backed_rsa_key, file_backed_secret

SECRET_KEY = file_backed_secret("LMS_SECRET_KEY", VAR_DIR / "secrets" / "lms_secret_key")
OAUTH2_PROVIDER = {
    **OAUTH2_PROVIDER,
    "OIDC_RSA_PRIVATE_KEY": file_backed_rsa_key(
        "OIDC_RSA_PRIVATE_KEY", VAR_DIR / "secrets" / "oidc_rsa_private_key.pem"
    ),
}
