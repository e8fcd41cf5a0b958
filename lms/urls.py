"""URL map of the LMS. The OIDC endpoints (/o/, /.well-known/openid-configuration), the API
(/api/v1/) and /metrics (Prometheus) are contracts other parts rely on: see
docs/architecture.md."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from lms.base.views import metrics, serve_page

urlpatterns = [
    path("metrics", metrics, name="metrics"),
    path("django-admin/", admin.site.urls),
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("", include("lms.sso.urls")),
    path("api/v1/", include("lms.api.urls")),
    path("", include("lms.accounts.urls")),
    path("", include("lms.courses.urls")),
    path("", include("lms.gradebook.urls")),
    path("", include("lms.tutor.urls")),
    path("", include("lms.discourse.urls")),
    path("", include("lms.community.urls")),
    path("", include("lms.notifications.urls")),
    path("", include("lms.review.urls")),
    path("", include("lms.groups.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Wagtail's pages: its view, with the route cached (lms/base/views.py), on its own pattern; then
# Wagtail's other URLs (the forms of password-protected pages).
urlpatterns.append(re_path(wagtail_urls.serve_pattern, serve_page))
urlpatterns.append(path("", include(wagtail_urls)))
