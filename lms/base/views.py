"""The LMS's own endpoints outside its apps' pages: ``/metrics`` for Prometheus."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from servicekit.metrics import DiskSpace, exposition, refusal


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """``GET /metrics``: django-prometheus's counts (requests, responses and latency by view,
    database connections and queries), summed over the gunicorn workers, and the free space of
    the file system holding the LMS's uploads (``studio_disk_*{folder="lms"}``). Read with the
    studio's metrics token, the rule of ``servicekit.metrics`` (404 when none is set, 401 with
    another), never with a session: Prometheus is no one's browser."""
    refused = refusal(request.headers.get("Authorization"), settings.STUDIO_METRICS_TOKEN)
    if refused is not None:
        answer = JsonResponse({"error": refused.code, "message": refused.message},
                              status=refused.status)
        for name, value in refused.headers.items():
            answer[name] = value
        return answer
    body, content_type = exposition(DiskSpace({"lms": Path(settings.MEDIA_ROOT)}))
    answer = HttpResponse(body, content_type=content_type)
    answer["Cache-Control"] = "no-store"
    return answer
