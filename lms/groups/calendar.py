"""A learner's study sessions as an iCalendar feed (RFC 5545), written by hand: one VEVENT per
session, times in UTC, text escaped (backslash, semicolon, comma, newline) and lines folded at
75 octets with CRLF endings, as calendar programs expect."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.utils import timezone

PRODID = "-//Python Learning Studio//Study groups//EN"


def _text(value: str) -> str:
    return (
        value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
        .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")
    )


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _fold(line: str) -> str:
    """``line`` folded into CRLF-separated pieces of at most 75 octets (never inside a UTF-8
    character), each continuation starting with a space."""
    pieces, current, size = [], "", 0
    for char in line:
        width = len(char.encode())
        if size + width > 75:
            pieces.append(current)
            current, size = " ", 1
        current += char
        size += width
    pieces.append(current)
    return "\r\n".join(pieces)


def feed(sessions: Iterable, *, host: str, name: str = "Study sessions") -> str:
    """The VCALENDAR of ``sessions`` (with their ``group`` and ``group.course``); ``host`` makes
    each event's UID unique to this LMS."""
    stamp = _utc(timezone.now())
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN",
             "METHOD:PUBLISH", f"X-WR-CALNAME:{_text(name)}"]
    for session in sessions:
        where = session.place or session.link
        description = f"{session.group.name} ({session.group.course.title})"
        if session.link:
            description += f"\n{session.link}"
        lines += [
            "BEGIN:VEVENT",
            f"UID:study-session-{session.pk}@{host}",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{_utc(session.starts_at)}",
            f"DTEND:{_utc(session.ends_at)}",
            f"SUMMARY:{_text(session.title)}",
            f"DESCRIPTION:{_text(description)}",
            f"LOCATION:{_text(where)}",
        ]
        if session.link:
            lines.append(f"URL:{session.link}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)
