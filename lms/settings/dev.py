"""``make up`` on a laptop: embedded SQLite, a secret key and an OIDC signing key generated once
under var/secrets (an ignored folder), unless the environment provides them."""

from servicekit.secrets import generated_secret

from .base import *  # noqa: F403
from .base import OAUTH2_PROVIDER, SECRET_KEY, VAR_DIR
from .secrets import generated_rsa_key

SECRET_KEY = SECRET_KEY or generated_secret(VAR_DIR / "secrets" / "lms_secret_key")
OAUTH2_PROVIDER = {
    **OAUTH2_PROVIDER,
    "OIDC_RSA_PRIVATE_KEY": OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"]
    or generated_rsa_key(VAR_DIR / "secrets" / "oidc_rsa_private_key.pem"),
}
