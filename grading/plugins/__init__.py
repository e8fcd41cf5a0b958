"""The grader's nbgrader plugins (as nbgrader's own ``nbgrader/plugins/``): ``late_penalty``,
the course's late policy as nbgrader's late submission plugin."""
