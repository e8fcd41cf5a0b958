"""WSGI entry point for gunicorn (``make up`` and production)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lms.settings.prod")
application = get_wsgi_application()
