"""The notifications pages: a person's own notifications (paginated; mark one or all read), their
email preferences, and the one-click unsubscribe page, which works without signing in (the
signed link is the permission). Thin: reads are ``selectors``', writes ``services``'."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import selectors, services, unsubscribe
from .models import Delivery, Kind


@require_GET
@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    page = selectors.notifications_page(request.user, request.GET.get("page"))
    return render(request, "notifications/list.html", {"page_obj": page})


@require_POST
@login_required
def mark_read(request: HttpRequest, pk: int) -> HttpResponse:
    found = services.mark_read(request.user, pk)
    if request.POST.get("open") and url_has_allowed_host_and_scheme(found.url, allowed_hosts=None):
        return redirect(found.url)  # a path in the LMS, as receivers make them
    return redirect("notifications")


@require_POST
@login_required
def mark_all_read(request: HttpRequest) -> HttpResponse:
    count = services.mark_all_read(request.user)
    messages.success(request, f"Marked {count} notification{'s' if count != 1 else ''} read.")
    return redirect("notifications")


@require_http_methods(["GET", "POST"])
@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        chosen = {kind: request.POST.get(kind, "") for kind in Kind.values}
        if any(value not in Delivery.values for value in chosen.values()):
            messages.error(request, "Choose, for each kind, at once, in the daily digest or "
                                    "no email.")
        else:
            services.set_deliveries(request.user, chosen)
            messages.success(request, "Your email settings are saved.")
            return redirect("notifications-preferences")
    current = selectors.deliveries(request.user)
    rows = [{"kind": kind, "label": Kind(kind).label, "delivery": current[kind]}
            for kind in Kind.values]
    return render(request, "notifications/preferences.html",
                  {"rows": rows, "choices": Delivery.choices})


@csrf_exempt  # RFC 8058: mail clients POST without a session; the signed token is the check
@require_http_methods(["GET", "POST"])
def unsubscribe_link(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a page to confirm (link scanners follow links; they must not unsubscribe anyone).
    POST (the page's button, or a mail client's one-click): unsubscribe."""
    try:
        link = unsubscribe.read(token)
    except unsubscribe.BadLink as refused:
        return render(request, "notifications/unsubscribe.html", {"refused": str(refused)},
                      status=400)
    what = ("the daily digest" if link.kind == unsubscribe.DIGEST
            else Kind(link.kind).label.lower())
    if request.method == "GET":
        return render(request, "notifications/unsubscribe.html", {"what": what, "token": token})
    try:
        services.unsubscribe_by_link(token)
    except unsubscribe.BadLink as refused:
        return render(request, "notifications/unsubscribe.html", {"refused": str(refused)},
                      status=400)
    return render(request, "notifications/unsubscribe.html", {"what": what, "done": True})
