"""One origin per trust level, in Debian's Chromium against the whole studio (issue 14, point 1).

The hub is at ``http://localhost:<port>``, the LMS at ``http://127.0.0.1:<port>``, each learner's
server at ``http://<user>.localhost:<port>`` and each course's formgrader at
``http://formgrader-<slug>--service.localhost:<port>`` (docs/architecture.md, "Security model").
What a learner's page may do is tried from the learner's own origin, in the browser of an
instructor who opened it: the script the tests run there (:data:`LEARNERS_SCRIPT`) stands for
any script a learner gets to run on their origin (a notebook's JavaScript output, a lab
extension in their home, a server of their own in place of Jupyter's): it has everything that
origin has, and no more.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from courses.naming import formgrader_service_name
from tests.support.lab_pages import sign_in
from tests.support.studio import Studio

pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.slow]

COURSE = "python-101"
ASSIGNMENT = "ps1-basics"
LEARNER, INSTRUCTOR, ADMIN = "learner1", "instructor", "admin"
LAB_MS = 120_000  # a lab page's first load, through the server's own sign-in with the hub

# Run on the learner's origin in the visitor's browser: what the page can see of the visitor's
# cookies, whether it can call the hub's and the LMS's APIs with them (read, and create a hub
# token: a no-cors request, whose answer the page never sees), read a hub page it opens, and
# set cookies for the hub's host.
LEARNERS_SCRIPT = """async ([hub, lms, visitor]) => {
    const seen = {origin: location.origin, cookie: document.cookie};
    async function call(url, init) {
        try {
            const response = await fetch(url, init);
            return response.type === "opaque" ? "sent, answer unreadable" : response.status;
        } catch (error) {
            return "blocked";
        }
    }
    seen.hubApi = await call(`${hub}/hub/api/user`, {credentials: "include"});
    seen.lmsApi = await call(`${lms}/api/v1/me/`, {credentials: "include"});
    seen.tokenRequest = await call(`${hub}/hub/api/users/${visitor}/tokens`, {
        method: "POST", credentials: "include", mode: "no-cors",
        headers: {"Content-Type": "text/plain"}, body: JSON.stringify({note: "taken"}),
    });
    const popup = window.open(`${hub}/hub/home`);
    seen.hubPage = await new Promise(resolve => {
        const deadline = Date.now() + 30000;
        (function look() {
            try {
                if (popup.document.body && popup.document.body.innerText.includes(visitor)) {
                    return resolve("read");
                }
            } catch (error) {
                return resolve("blocked");
            }
            if (Date.now() > deadline) return resolve("undecided");
            setTimeout(look, 100);
        })();
    });
    if (popup) popup.close();
    document.cookie = "jupyterhub-session-id=tossed; domain=localhost; path=/";
    document.cookie = "_xsrf=tossed; domain=localhost; path=/hub/";
    document.cookie = "sessionid=tossed; domain=127.0.0.1; path=/";
    return seen;
}"""


def host_of(url: str) -> str:
    return urlsplit(url).hostname


def cookies_of(context: BrowserContext, host: str) -> dict[str, str]:
    """The browser's cookies for ``host`` (any path), by name."""
    return {c["name"]: c["value"] for c in context.cookies() if c["domain"].lstrip(".") == host}


def cookie_names(cookie_header: str) -> set[str]:
    return {part.split("=", 1)[0] for part in cookie_header.split("; ") if part}


def open_learners_lab(page: Page, studio: Studio) -> bool:
    """The signed-in visitor opens learner1's server the way the hub's admin page and a shared
    hub link lead there (``<hub>/hub/user/learner1/lab``) and lands in the lab; the first time,
    the hub asks them to let the server identify them, and only that (whether it asked)."""
    page.goto(f"{studio.hub_url}/hub/user/{LEARNER}/lab")
    asked = page.url.startswith(f"{studio.hub_url}/hub/api/oauth2/authorize")
    if asked:
        expect(page.get_by_text("would like permission to identify you")).to_be_visible()
        expect(page.get_by_text("It will not be able to take actions on your behalf")
               ).to_be_visible()
        page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(re.compile(rf"{re.escape(studio.server_url(LEARNER, 'lab'))}.*"),
                      timeout=LAB_MS)
    return asked


def test_a_learners_server_is_on_a_host_of_its_own_below_the_hubs(
    studio, learner1, context: BrowserContext
):
    page = context.new_page()
    sign_in(page, studio, LEARNER)
    page.goto(f"{studio.hub_url}/hub/user-redirect/lab")
    page.wait_for_url(re.compile(rf".*/user/{LEARNER}/lab.*"), timeout=LAB_MS)
    assert host_of(page.url) == f"{LEARNER}.localhost", page.url
    assert page.url.startswith(studio.server_url(LEARNER, "lab")), page.url
    # the hub says so too (its admin page links there)
    server = studio.api(LEARNER, "GET", f"/users/{LEARNER}").json()["servers"][""]
    assert server["url"] == studio.server_url(LEARNER)


@pytest.mark.parametrize("visitor", [INSTRUCTOR, ADMIN])
def test_an_instructor_or_admin_opening_a_learners_server_lands_on_the_learners_origin(
    studio, learner1, context: BrowserContext, visitor
):
    studio.login(visitor, spawn=False)
    listed = studio.api(visitor, "GET", f"/users/{LEARNER}")
    assert listed.status_code == 200, listed.text  # the course's instructors reach its learners
    # the admin page links to the server's own host
    assert listed.json()["servers"][""]["url"] == studio.server_url(LEARNER)
    page = context.new_page()
    sign_in(page, studio, visitor)
    if visitor == ADMIN:  # the tests' first visit as the admin: the hub asks once
        assert open_learners_lab(page, studio), "the hub did not ask the visitor"
    else:
        open_learners_lab(page, studio)
    assert host_of(page.url) == f"{LEARNER}.localhost", page.url
    assert host_of(page.url) != host_of(studio.hub_url)
    expect(page.locator("#jp-main-dock-panel")).to_be_visible(timeout=LAB_MS)


def test_a_learners_page_cannot_read_or_use_its_visitors_hub_and_lms_cookies(
    studio, learner1, context: BrowserContext
):
    studio.login(INSTRUCTOR, spawn=False)
    page = context.new_page()
    sign_in(page, studio, INSTRUCTOR)
    open_learners_lab(page, studio)
    tokens_before = studio.api(INSTRUCTOR, "GET", f"/users/{INSTRUCTOR}/tokens").json()
    hub_cookies = cookies_of(context, host_of(studio.hub_url))
    assert "jupyterhub-hub-login" in hub_cookies  # the visitor is signed in to the hub ...
    assert "sessionid" in cookies_of(context, host_of(studio.lms_url))  # ... and the LMS

    seen = page.evaluate(LEARNERS_SCRIPT, [studio.hub_url, studio.lms_url, INSTRUCTOR])

    assert seen["origin"] == studio.server_url(LEARNER).removesuffix(f"/user/{LEARNER}/")
    # only the cookies the learner's own server set for its host
    own = {c["name"] for c in context.cookies(studio.server_url(LEARNER)) if not c["httpOnly"]
           and c["domain"] == f"{LEARNER}.localhost"}
    assert cookie_names(seen["cookie"]) == own, seen["cookie"]
    # the hub's and the LMS's APIs refuse to answer the learner's origin ...
    assert seen["hubApi"] == "blocked", seen
    assert seen["lmsApi"] == "blocked", seen
    # ... a write sent blind changed nothing: no hub token was made for the visitor
    tokens_after = studio.api(INSTRUCTOR, "GET", f"/users/{INSTRUCTOR}/tokens").json()
    assert len(tokens_after["api_tokens"]) == len(tokens_before["api_tokens"]), tokens_after
    assert "taken" not in {token.get("note") for token in tokens_after["api_tokens"]}
    # a hub page the learner's page opens is not the learner page's to read
    assert seen["hubPage"] == "blocked", seen
    # cookies set for the hub's or the LMS's host from the learner's origin were refused
    after = cookies_of(context, host_of(studio.hub_url))
    for name in ("jupyterhub-session-id", "jupyterhub-hub-login"):
        assert after[name] == hub_cookies[name], name
    assert "tossed" not in {c["value"] for c in context.cookies()}
    hub = context.new_page()
    hub.goto(f"{studio.hub_url}/hub/home")
    assert hub.url == f"{studio.hub_url}/hub/home"  # still signed in, not sent to sign in again


def test_the_formgrader_is_on_a_host_of_its_own_where_the_lms_links_to_it(
    studio, context: BrowserContext
):
    formgrader = studio.service_url(formgrader_service_name(COURSE), "formgrader")
    assert host_of(formgrader) == f"formgrader-{COURSE}--service.localhost"
    page = context.new_page()
    sign_in(page, studio, INSTRUCTOR)
    page.goto(f"{studio.lms_url}/courses/{COURSE}/{ASSIGNMENT}/")
    link = page.get_by_role("link", name=re.compile(r"^Grade by hand in the formgrader"))
    expect(link).to_have_attribute("href", formgrader)
    with context.expect_page() as opened:
        link.click()
    grading = opened.value
    grading.wait_for_url(re.compile(rf"{re.escape(formgrader)}.*"), timeout=LAB_MS)
    expect(grading).to_have_title(re.compile("formgrade"))

    seen = grading.evaluate(LEARNERS_SCRIPT, [studio.hub_url, studio.lms_url, INSTRUCTOR])

    assert host_of(seen["origin"]) == host_of(formgrader)
    own = {c["name"] for c in context.cookies(formgrader) if not c["httpOnly"]
           and c["domain"] == host_of(formgrader)}
    assert cookie_names(seen["cookie"]) == own, seen["cookie"]  # none of the hub's, the LMS's
    assert seen["hubApi"] == "blocked" and seen["lmsApi"] == "blocked", seen
    assert seen["hubPage"] == "blocked", seen
