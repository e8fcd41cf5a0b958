"""What markup of a rendered notebook may reach a browser: the one allow-list.

Two parts show notebooks to people: the LMS (course notebooks in lesson pages,
``lms.base.notebooks``) and the grader's formgrader (learners' submissions, opened by
instructors: ``grading.formgrader_pages``). Both render with nbconvert and pass the result
through :func:`clean_notebook_html`, so a notebook shows the same markup in both and the rule
lives here. What passes: prose, lists, tables, code and images, images only as inline
``data:image/...`` URIs (so rendering a notebook makes the browser fetch nothing, not even from
the page's own host), links only to ``http``, ``https`` and ``mailto`` URLs or relative ones.
No script, style, form, frame, object or SVG element, no event handler or ``style`` attribute
and no ``javascript:`` URL survives; ``<script>`` and ``<style>`` go with their content.

:data:`SCRIPT_MIMETYPES` are the output representations only a browser running their script
could show (JavaScript, widgets): both renderers drop them before rendering, so an output
falls back to its other representations.

Cleaning is nh3's (the Rust crate ammonia): it parses as a browser does (html5ever) and
writes the tree out again, so what it returns is what a browser will see.
"""

from __future__ import annotations

import nh3

ALLOWED_TAGS = frozenset(
    {
        *("a", "abbr", "acronym", "b", "blockquote", "code", "em", "i", "li", "ol", "strong"),
        "ul",
        *(f"h{level}" for level in range(1, 7)),
        *("p", "div", "span", "pre", "kbd", "samp", "var", "br", "hr", "img"),
        *("sub", "sup", "small", "del", "ins", "s", "u", "mark", "q", "cite", "dfn"),
        *("dl", "dt", "dd", "figure", "figcaption", "details", "summary"),
        *("table", "caption", "colgroup", "col", "thead", "tbody", "tfoot", "tr", "th", "td"),
    }
)
"""Elements a notebook may show; any other is removed and its text kept."""

ALLOWED_ATTRIBUTES = {
    "*": {"class", "id", "title", "lang", "dir"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "scope"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start", "type"},
    "details": {"open"},
}
"""Attributes by element (``*``: on every allowed element)."""

ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto", "data"})
"""Schemes of ``href`` and ``src``; ``data:`` further only as an image's source."""

SCRIPT_MIMETYPES = frozenset(
    {
        "application/javascript",
        "text/javascript",
        "application/vnd.jupyter.widget-view+json",
        "application/vnd.jupyter.widget-state+json",
    }
)


def _url_rule(tag: str, attribute: str, value: str) -> str | None:
    """``data:`` URLs only as images (inline, no fetch); an image only as ``data:image/``."""
    lowered = value.strip().lower()
    if tag == "a" and attribute == "href" and lowered.startswith("data:"):
        return None
    if tag == "img" and attribute == "src" and not lowered.startswith("data:image/"):
        return None
    return value


def clean_notebook_html(html: str, *, id_prefix: str | None = None) -> str:
    """``html`` (nbconvert's rendering of a notebook, or a part of it) with only the allowed
    markup. ``id_prefix`` is put before every ``id`` (the formgrader's: a learner's element
    cannot take the id of one of the page's own)."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_url_rule,
        url_schemes=set(ALLOWED_URL_SCHEMES),
        strip_comments=True,
        id_prefix=id_prefix,
    )
