"""The tutor's metrics for Prometheus (docs/architecture.md, "Operations: metrics and alerts"),
counted by :class:`tutor.tutoring.Tutor` as it decides and replies:

- ``tutor_requests_total{mode,policy}``: requests admitted (a reply streams), by mode
  (``explain``, ``hint``, ``chat``) and the policy that applied (``full``, ``hints-only``).
- ``tutor_refusals_total{reason,policy}``: what the tutor refused, by ``reason`` (the refusal's
  code: ``tutor-off``, ``not-an-answer-cell``, ``forbidden``, ``not-found``; ``leak``: the leak
  guard stopped a reply about to show a solution) and the policy that applied (``none``: refused
  before a policy was decided).
- ``tutor_quota_refusals_total{limit}``: requests refused by a learner's limits, ``rate`` (per
  minute) or ``quota`` (per day).
- ``tutor_first_token_seconds{source}``: from the request to the first piece of the reply the
  learner sees, ``source="model"`` or ``"offline"``.
- ``tutor_model_errors_total{kind}``: replies that ended in an error: the model's
  (``tutor.model.ModelFailed.kind``: ``timeout``, ``stalled``, ``connection``, ``server_error``,
  ...) or the tutor's own (``internal``).

The tutor is one process (an event loop), so its counts are its own registry's.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from courses.course_file import TUTOR_POLICIES
from tutor.ask import MODES
from tutor.limits import LIMIT_CODES
from tutor.model import FAILURE_KINDS

REQUESTS = Counter("tutor_requests", "Requests the tutor admitted (a reply streams), by mode "
                   "and policy", ["mode", "policy"])
REFUSALS = Counter("tutor_refusals", "Requests or replies the tutor refused, by reason and the "
                   "policy that applied", ["reason", "policy"])
QUOTA_REFUSALS = Counter("tutor_quota_refusals", "Requests refused by a learner's limits, by "
                         "limit (rate, quota)", ["limit"])
FIRST_TOKEN_SECONDS = Histogram(
    "tutor_first_token_seconds",
    "Seconds from a request to the first piece of its reply, by source (model, offline)",
    ["source"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60),
)
MODEL_ERRORS = Counter("tutor_model_errors", "Replies that ended in an error, by kind (the "
                       "model's, or internal)", ["kind"])

INTERNAL = "internal"

# Every series an alert or a ratio reads exists from the start, at 0.
for _kind in (*FAILURE_KINDS, INTERNAL):
    MODEL_ERRORS.labels(_kind)
for _limit in LIMIT_CODES:
    QUOTA_REFUSALS.labels(_limit)
for _source in ("model", "offline"):
    FIRST_TOKEN_SECONDS.labels(_source)
for _mode in MODES:
    for _policy in TUTOR_POLICIES:
        if _policy != "off":  # never admitted
            REQUESTS.labels(_mode, _policy)
