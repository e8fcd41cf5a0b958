"""StreamField blocks shared by course and lesson pages (bakerydemo keeps its in base/blocks.py)."""

from __future__ import annotations

from django.utils.safestring import mark_safe
from wagtail import blocks

from .highlight import highlight_code
from .notebooks import render_course_notebook


class CodeBlock(blocks.StructBlock):
    """Source code shown with syntax highlighting (Pygments, rendered on the server: no JS)."""

    language = blocks.ChoiceBlock(
        choices=[
            ("python", "Python"),
            ("pycon", "Python console"),
            ("bash", "Shell"),
            ("text", "Plain text"),
        ],
        default="python",
    )
    code = blocks.TextBlock()

    class Meta:
        icon = "code"
        template = "base/blocks/code.html"

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context)
        context["highlighted"] = mark_safe(highlight_code(value["code"], value["language"]))  # noqa: S308
        return context


class NotebookBlock(blocks.StructBlock):
    """A notebook from the course folder, rendered read-only in the page (nbconvert)."""

    path = blocks.CharBlock(
        help_text="Path of the .ipynb inside the course folder, e.g. lessons/01-basics.ipynb"
    )

    class Meta:
        icon = "doc-full"
        template = "base/blocks/notebook.html"

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context)
        page = (parent_context or {}).get("page")
        course_slug = page.specific.course_slug if page is not None else ""
        context["notebook_html"] = render_course_notebook(course_slug, value["path"])
        return context


class ContentStreamBlock(blocks.StreamBlock):
    heading = blocks.CharBlock(
        form_classname="title", icon="title", template="base/blocks/heading.html"
    )
    paragraph = blocks.RichTextBlock(icon="pilcrow")
    code = CodeBlock()
    notebook = NotebookBlock()
