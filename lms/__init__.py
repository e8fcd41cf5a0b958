"""The Wagtail LMS: courses, enrollments, progress, gradebook, and the studio's sign-on (OIDC)."""
