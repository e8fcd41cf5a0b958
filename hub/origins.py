"""Which host serves what: an origin per trust level, so learners' pages never run beside the hub.

JupyterHub's way for untrusted users ("Subdomains are the only way to reliably isolate user
servers from each other", its security overview): ``JupyterHub.subdomain_host`` is the hub's
public URL (``HUB_PUBLIC_URL``), its proxy routes by host, and

- each user's server is on ``<user>.<hub host>`` (JupyterHub's "idna" naming: ``learner1``
  stays ``learner1``; a name that is not a DNS label, ``ada_l``, is hashed, ``u-adal--1a2b3c4``);
- each service that shows learners' work, a course's formgrader, is on
  ``formgrader-<slug>--service.<hub host>`` (``courses.naming.service_host``: the LMS links there);
- the hub itself, and the services that answer only programs (the grader and the tutor: JSON for
  learners' servers and the LMS), stay on the hub's host, at ``/services/<name>/`` as before.

A page a learner wrote (a notebook's output, a file under ``/files/``, a formgrader's view of a
submission) thus runs on an origin that holds none of the hub's cookies and may not call the
hub's API with the visitor's: the hub's cookies are host-only cookies of the hub's host, which a
subdomain neither reads nor receives. Whether a subdomain can *set* a cookie for the hub's host
("cookie tossing") depends on the host: browsers refuse ``Domain=localhost`` (a name without a
registrable domain, ``make up``), but accept ``Domain=hub.example.org`` from a subdomain of it.
So with https the hub's cookies carry the ``__Host-`` prefix (``cookie_host_prefix_enabled``),
which only the hub's own host can set, and JupyterHub's XSRF tokens are signed and tied to the
hub's session. docs/architecture.md ("Security model") states what is left.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from jupyterhub.utils import subdomain_hook_idna

from courses.naming import is_formgrader_service, service_host


def has_own_origin(service: str) -> bool:
    """Whether the hub service ``service`` gets a host of its own: those that render learners'
    work for instructors (the formgraders). The grader and the tutor answer only JSON to
    programs and stay on the hub's host."""
    return is_formgrader_service(service)


def subdomain_hook(name: str, domain: str, kind: str) -> str:
    """``JupyterHub.subdomain_hook``: the host of user ``name``'s server (JupyterHub's own
    naming) or of service ``name`` (its own host, or the hub's ``domain``)."""
    if kind == "user":
        return subdomain_hook_idna(name, domain, kind)
    if has_own_origin(name):
        return service_host(name, domain)
    return domain


def uses_host_cookies(public_url: str) -> bool:
    """``__Host-`` cookies need https (browsers drop them otherwise)."""
    return urlsplit(public_url).scheme == "https"
