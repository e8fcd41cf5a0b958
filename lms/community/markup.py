"""A post's Markdown as HTML a browser may be given.

Markdown (Python-Markdown, with fenced code and tables) is rendered on the server, fenced code
highlighted by Pygments (``codehilite``: the page's Pygments stylesheet colours it, no
JavaScript), and the result passes through the studio's one allow-list of markup,
``servicekit.notebook_markup`` (nh3): raw HTML, scripts, event handlers, ``style`` and
``javascript:`` URLs never survive, and images only as inline ``data:image/`` URIs.
"""

from __future__ import annotations

import markdown

from servicekit.notebook_markup import clean_notebook_html

_EXTENSIONS = ["fenced_code", "codehilite", "tables", "sane_lists"]
_CONFIG = {"codehilite": {"css_class": "highlight", "guess_lang": False}}


def render_markdown(text: str) -> str:
    """``text`` (Markdown) as sanitised HTML. Headings move below the page's own (h3 and down)."""
    html = markdown.markdown(text, extensions=_EXTENSIONS, extension_configs=_CONFIG)
    return clean_notebook_html(_demote_headings(html))


def _demote_headings(html: str) -> str:
    for level in range(6, 0, -1):
        target = min(level + 2, 6)
        html = html.replace(f"<h{level}", f"<h{target}").replace(f"</h{level}>", f"</h{target}>")
    return html
