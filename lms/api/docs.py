"""The API's browsable docs: Swagger UI served from drf-spectacular-sidecar's static files.

drf-spectacular loads Swagger UI from a CDN by default; the studio serves no asset from a CDN, so
this view always points at the sidecar's copies under ``STATIC_URL`` (whatever
``SPECTACULAR_SETTINGS`` say) and turns off Swagger UI's online validator badge, which would
otherwise fetch from validator.swagger.io. ``drf_spectacular_sidecar`` must be in
``INSTALLED_APPS`` for ``collectstatic`` to pick the files up; the ``lms_api.W001`` check warns
when it is not.
"""

from __future__ import annotations

from django.apps import apps
from django.core import checks
from django.templatetags.static import static
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerView

SIDECAR_APP = "drf_spectacular_sidecar"


def _sidecar(path: str) -> str:
    return static(f"{SIDECAR_APP}/swagger-ui-dist/{path}")


class SwaggerDocsView(SpectacularSwaggerView):
    url_name = "api:schema"

    @staticmethod
    def _swagger_ui_resource(filename: str) -> str:
        return _sidecar(filename)

    @staticmethod
    def _swagger_ui_favicon() -> str:
        return _sidecar("favicon-32x32.png")

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        ui_settings = {**spectacular_settings.SWAGGER_UI_SETTINGS, "validatorUrl": None}
        response.data["settings"] = self._dump(ui_settings)
        return response


def check_sidecar_installed(app_configs, **kwargs) -> list[checks.CheckMessage]:
    if apps.is_installed(SIDECAR_APP):
        return []
    return [
        checks.Warning(
            f"{SIDECAR_APP} is not in INSTALLED_APPS: /api/v1/docs/ will miss Swagger UI's files.",
            hint=f"Install drf-spectacular-sidecar and add {SIDECAR_APP!r} to INSTALLED_APPS.",
            id="lms_api.W001",
        )
    ]
