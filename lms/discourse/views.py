"""DiscourseConnect's endpoint: Discourse sends the browser here to have someone signed in.
Thin: the protocol is ``connect``'s, the rules ``selectors``', the nonces ``services``'."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import connect, selectors, services

log = logging.getLogger(__name__)


@require_GET
def discourse_sso(request: HttpRequest) -> HttpResponse:
    """Check the signed request, have the person sign in to the LMS (and come back), then send
    them back to Discourse with who they are, signed. Refusals are a 400 page and a log line."""
    if not selectors.connect_configured():
        raise Http404("This school runs no Discourse.")
    try:
        nonce, return_url = selectors.read_connect_request(
            request.GET.get("sso"), request.GET.get("sig")
        )
    except connect.ConnectError as error:
        return _refuse(request, str(error))
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not request.user.email:
        return _refuse(request, "Your account has no email address, which Discourse needs: ask "
                       "the school's staff to add one.")
    if not services.use_nonce(nonce):
        return _refuse(request, "This sign-in request was answered already: go back to "
                       "Discourse and sign in again.")
    answer = connect.encode(selectors.connect_answer(request.user, nonce),
                            settings.DISCOURSE_CONNECT_SECRET)
    separator = "&" if "?" in return_url else "?"
    return HttpResponseRedirect(f"{return_url}{separator}{answer}")


def _refuse(request: HttpRequest, reason: str) -> HttpResponse:
    log.warning("DiscourseConnect: refused a sign-in request for %s from %s: %s",
                request.user.get_username() or "anonymous", request.META.get("REMOTE_ADDR"),
                reason)
    return render(request, "discourse/refused.html", {"reason": reason}, status=400)
