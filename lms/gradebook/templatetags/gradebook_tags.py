"""Template helpers of the gradebook: what a grade is worth, submission statuses in words and the
grade distribution chart (inline SVG drawn on the server: no JavaScript, nothing fetched)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django import template

from lms.gradebook import selectors
from lms.gradebook.models import Grade
from lms.gradebook.selectors import HISTOGRAM_BINS, Distribution, TestsSummary, tests_summary

register = template.Library()

SUBMISSION_STATUSES = {
    "queued": "Waiting to be graded",
    "grading": "Being graded",
    "graded": "Graded",
    "invalid": "Cannot be graded",
    "failed": "Grading failed (retried)",
}


@register.filter
def final_score(grade: Grade) -> Decimal:
    """What a grade is worth after its late penalty, as the gradebook decides it."""
    return selectors.final_score(grade)


@register.filter
def grade_for(grades: dict[int, Grade] | None, assignment) -> Grade | None:
    """``{{ counting_grades|grade_for:assignment }}``: the grade of ``assignment`` in a dict of
    grades by assignment id (the course page's ``counting_grades``); None when it has none."""
    return grades.get(assignment.pk) if grades else None


@register.filter
def submission_status(status: str) -> str:
    """A grader submission status (docs/grading.md) as instructors read it."""
    return SUBMISSION_STATUSES.get(status, status)


@register.filter
def tests_of(grade) -> TestsSummary:
    """``{% with tests=grade|tests_of %}``: tests at full marks of the grade's breakdown."""
    return tests_summary(grade)


@dataclass(frozen=True)
class Bar:
    label: str  # the band, e.g. "40 % to under 50 %"
    short: str  # under the bar: the band's start, e.g. "40"
    count: int
    x: float
    y: float
    height: float
    label_x: float

    @property
    def count_y(self) -> float:
        return round(self.y - 3, 1)


CHART_WIDTH = 320
CHART_HEIGHT = 140
PLOT_TOP = 16  # room for the count above the tallest bar
PLOT_BOTTOM = 120  # the axis; band labels below it
BAR_WIDTH = 26
BAR_STEP = CHART_WIDTH / HISTOGRAM_BINS


def band_label(index: int) -> str:
    width = 100 // HISTOGRAM_BINS
    low = index * width
    if index == HISTOGRAM_BINS - 1:
        return f"{low} % to 100 %"
    return f"{low} % to under {low + width} %"


def bars_of(distribution: Distribution) -> list[Bar]:
    tallest = max(distribution.histogram, default=0) or 1
    plot = PLOT_BOTTOM - PLOT_TOP
    bars = []
    for index, count in enumerate(distribution.histogram):
        height = plot * count / tallest
        x = index * BAR_STEP + (BAR_STEP - BAR_WIDTH) / 2
        bars.append(
            Bar(
                label=band_label(index),
                short=str(index * (100 // HISTOGRAM_BINS)),
                count=count,
                x=round(x, 1),
                y=round(PLOT_BOTTOM - height, 1),
                height=round(height, 1),
                label_x=round(x + BAR_WIDTH / 2, 1),
            )
        )
    return bars


@register.inclusion_tag("gradebook/includes/distribution_chart.html")
def distribution_chart(distribution: Distribution, title: str, chart_id: str) -> dict:
    """A bar chart of how many learners fall in each 10 % band of the final score, with the
    same numbers as a table (its text alternative)."""
    return {
        "distribution": distribution,
        "bars": bars_of(distribution),
        "title": title,
        "chart_id": chart_id,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "bar_width": BAR_WIDTH,
        "axis_y": PLOT_BOTTOM,
        "label_y": PLOT_BOTTOM + 14,
    }
