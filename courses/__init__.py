"""Course content, and what every part knows about it: the one reader of its course.yml format
(course_file), the naming conventions (naming) and the lateness rule (lateness)."""
