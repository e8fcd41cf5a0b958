"""JupyterHub configuration of the Python Learning Studio.

Everything comes from the ``hub`` package and environment variables (docs/configuration.md, "Hub").
Run from the repository root: ``.venv/bin/jupyterhub -f jupyterhub_config.py``.
"""

from hub.config import configure

configure(get_config())  # noqa: F821 - get_config is provided by JupyterHub's config loader
