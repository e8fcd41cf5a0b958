"""The URL map the OpenAPI schema is generated from: API v1 alone, at its public prefix (the same
as in lms/urls.py). Without it the schema would also describe Wagtail's internal admin API."""

from django.urls import include, path

urlpatterns = [path("api/v1/", include("lms.api.urls"))]
