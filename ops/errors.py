"""The one error ``python -m ops`` reports: a sentence for the admin, never a traceback."""


class OpsError(Exception):
    """A backup or a restore that cannot go on; its message says what and what to do."""
