from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core.converters import IdConverter
from evolution.dashboard import dashboard

# Registered before the apps' URL modules are included: they use <id:...> for primary keys.
register_converter(IdConverter, "id")
handler404 = "core.exception_handler.not_found"
handler500 = "core.exception_handler.server_error"
handler400 = "core.exception_handler.bad_request"
handler403 = "core.exception_handler.permission_denied"

_DOCS_CDN = "https://cdn.jsdelivr.net"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("dashboard/", dashboard, name="dashboard"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's init script from this origin (no inline script). Its bundle still comes from
    # the CDN drf-spectacular defaults to, allowed for this page only until it is served as static files.
    path(
        "api/docs/",
        csp_update({"script-src": [_DOCS_CDN], "style-src": [_DOCS_CDN], "img-src": [_DOCS_CDN]})(
            SpectacularSwaggerSplitView.as_view(url_name="schema")
        ),
        name="docs",
    ),
    path("", include("economy.urls")),
    path("", include("market.urls")),
    path("", include("sandbox.urls")),
    path("", include("attention.urls")),
    path("", include("evolution.urls")),
]
