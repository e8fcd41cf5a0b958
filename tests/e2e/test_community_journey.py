"""The course community through the whole studio, in Debian's Chromium (issue 15): a learner
stuck in JupyterLab asks the class from the tutor panel, a classmate answers on the LMS's
board, the instructor endorses the answer; the first learner sees the bell's count and gets the
email (the LMS's worker writes mail under the studio's ``var/mail``, as ``make up`` does); a
post that shows a graded exercise's solution before the deadline is held for the instructor's
review queue instead of being published.

The studio is ``tests/e2e/conftest.py``'s (LMS, hub with the Docker spawner, the tutor in offline
mode, the LMS's worker); the learners are this module's own.
"""

from __future__ import annotations

import email
import re
import secrets
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_tutor import ENROLL, LAB_MS, run_failing_cell, signed_in_lab
from tests.support.assignments import solutions
from tests.support.studio import Studio

pytestmark = [pytest.mark.browser, pytest.mark.slow]

COURSE = "python-101"
ASSIGNMENT = "ps1-basics"
QUESTION = "Why is temperature not defined?"
ANSWER = "You use `temperature` before any cell assigns it: run the cell that defines it first."
MAIL_SECONDS = 120  # the worker looks at its queue every second; bounded for a loaded machine


def sign_in_to_lms(page: Page, studio: Studio, username: str) -> None:
    page.goto(f"{studio.lms_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(studio.passwords[username])
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(re.compile(r".*/dashboard/"))


def new_learner(studio: Studio, stem: str) -> str:
    name = f"{stem}-{secrets.token_hex(3)}"
    studio.passwords[name] = secrets.token_urlsafe(12)
    assert "enrolled" in studio.lms_shell(ENROLL.format(
        name=name, password=studio.passwords[name], course=COURSE))
    return name


def mail_to(studio: Studio, address: str, seconds: float = MAIL_SECONDS) -> list:
    """The messages the LMS's worker wrote for ``address`` (Django's file-based backend: one
    file per connection, messages separated by a line of dashes), waiting for the first."""
    folder = Path(studio.var_dir) / "mail"
    deadline = time.monotonic() + seconds
    while True:
        found = []
        for path in sorted(folder.glob("*.log")) if folder.is_dir() else []:
            for raw in path.read_text(errors="replace").split("-" * 79):
                if raw.strip():
                    message = email.message_from_string(raw.strip())
                    if address in (message["To"] or ""):
                        found.append(message)
        if found or time.monotonic() > deadline:
            return found
        time.sleep(1)


def text_of(message) -> str:
    """The decoded text of a message's plain-text parts."""
    return "".join(
        part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
        for part in message.walk() if part.get_content_type() == "text/plain"
    )


def test_a_question_from_the_tutor_panel_is_answered_endorsed_notified_and_mailed(
    studio, browser, context, screenshot
):
    # Learner 1 is stuck on an error in JupyterLab and asks the class from the tutor panel.
    lab_page = context.new_page()
    lab = signed_in_lab(studio, lab_page)
    asker = lab.lab_url.split("/user/")[1].split("/")[0]
    run_failing_cell(lab_page, lab)
    lab_page.get_by_role("button", name="Explain this error: NameError").first.click()
    panel = lab_page.get_by_role("region", name="Tutor")
    expect(panel).to_be_visible()
    panel.get_by_role("textbox", name="Ask the tutor").fill(QUESTION)
    ask = panel.get_by_role("button", name=re.compile("^Ask the class"))
    expect(ask).to_be_enabled(timeout=LAB_MS)
    screenshot(lab_page, "1-tutor-panel-ask-the-class")
    with context.expect_page() as opened:
        ask.click()
    draft = opened.value
    draft.wait_for_load_state()
    assert "/board/ask/" in draft.url
    expect(draft.get_by_label("Title")).to_have_value(QUESTION)
    body = draft.get_by_label(re.compile("^Text"))
    expect(body).to_contain_text("NameError")
    assert "celsius_to_fahrenheit(temperature)" not in body.input_value()  # never the code
    screenshot(draft, "2-draft-on-the-board")
    draft.get_by_role("button", name="Post the question").click()
    draft.wait_for_url(re.compile(r".*/board/\d+/$"))
    thread_url = draft.url
    expect(draft.get_by_role("heading", name=QUESTION)).to_be_visible()

    # Learner 1 wants replies by email at once (replies come in the daily digest by default).
    draft.goto(f"{studio.lms_url}/notifications/preferences/")
    draft.get_by_role("radio", name=re.compile(r"^Replies to threads I follow: Email at once"))\
        .check()
    draft.get_by_role("button", name=re.compile("^Save")).click()

    # A classmate answers on the board.
    classmate = new_learner(studio, "e2e-classmate")
    other = browser.new_context()
    try:
        page = other.new_page()
        sign_in_to_lms(page, studio, classmate)
        page.goto(thread_url)
        page.get_by_label(re.compile("^Text")).fill(ANSWER)
        page.get_by_role("button", name="Post", exact=True).click()
        expect(page.get_by_text("You use", exact=False).first).to_be_visible()
        screenshot(page, "3-a-classmate-answers")
    finally:
        other.close()

    # The instructor endorses it.
    staff = browser.new_context()
    try:
        page = staff.new_page()
        sign_in_to_lms(page, studio, "instructor")
        page.goto(thread_url)
        page.get_by_role("button", name="Endorse", exact=True).click()
        expect(page.get_by_text("Endorsed by an instructor")).to_be_visible()
        screenshot(page, "4-the-instructor-endorses")
    finally:
        staff.close()

    # Learner 1 sees the bell's count and the notification, and gets the email.
    draft.goto(f"{studio.lms_url}/dashboard/")
    bell = draft.locator("#notification-bell [data-unread]")
    expect(bell).to_be_visible()
    assert int(bell.get_attribute("data-unread")) >= 1
    screenshot(draft, "5-the-bell")
    draft.locator("#notification-bell").click()
    expect(draft.get_by_role("link", name=re.compile(r"answered in “Why is temperature")))\
        .to_be_visible()
    screenshot(draft, "6-notifications")
    messages = mail_to(studio, f"{asker}@e2e.example")
    assert messages, "no email reached the asker"
    message = messages[-1]
    assert QUESTION in text_of(message)
    assert message["List-Unsubscribe"] and message["List-Unsubscribe-Post"]


def test_a_post_showing_a_graded_solution_is_held_for_the_instructors_review(
    studio, browser, screenshot
):
    author = new_learner(studio, "e2e-poster")
    solution = solutions(COURSE, ASSIGNMENT)["ps1-celsius-answer"]
    mine = browser.new_context()
    try:
        page = mine.new_page()
        sign_in_to_lms(page, studio, author)
        page.goto(f"{studio.lms_url}/courses/{COURSE}/board/")
        page.get_by_label("Title").fill("Is this right for problem 1?")
        page.get_by_label(re.compile("^Text")).first.fill(f"```python\n{solution}\n```")
        page.get_by_role("button", name=re.compile("^Post")).first.click()
        expect(page.get_by_text(re.compile("held|review", re.IGNORECASE)).first).to_be_visible()
        screenshot(page, "7-held-for-review")
    finally:
        mine.close()
    staff = browser.new_context()
    try:
        page = staff.new_page()
        sign_in_to_lms(page, studio, "instructor")
        page.goto(f"{studio.lms_url}/courses/{COURSE}/board/review/")
        held = page.get_by_role("article").filter(has_text="Is this right for problem 1?")
        expect(held).to_be_visible()
        expect(held).to_contain_text(ASSIGNMENT)
        screenshot(page, "8-review-queue")
    finally:
        staff.close()
