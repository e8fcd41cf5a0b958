"""Course content, and the one shared reader of its course.yml format (course_file)."""
