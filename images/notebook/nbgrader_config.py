# nbgrader in the learner image: the exchange is the grader service over HTTP
# (pls_grading.exchange), reached at PLS_GRADER_URL with the server's own hub token. There is no
# shared exchange folder. Installed as /opt/venv/etc/jupyter/nbgrader_config.py, read by
# nbgrader's Assignments panel (and the nbgrader CLI) in every learner's and instructor's server.
c = get_config()  # noqa: F821 - provided by traitlets' config loader

STEPS = {
    "exchange": "HttpExchange",
    "list": "HttpExchangeList",
    "fetch_assignment": "HttpExchangeFetchAssignment",
    "submit": "HttpExchangeSubmit",
    "fetch_feedback": "HttpExchangeFetchFeedback",
    "release_assignment": "HttpExchangeReleaseAssignment",
    "collect": "HttpExchangeCollect",
    "release_feedback": "HttpExchangeReleaseFeedback",
}
for step, name in STEPS.items():
    setattr(c.ExchangeFactory, step, f"pls_grading.exchange.{name}")
