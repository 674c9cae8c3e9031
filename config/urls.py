from django.contrib import admin
from django.urls import include, path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from core.converters import IdConverter
from evolution.dashboard import dashboard, dashboard_data

# Registered before the apps' URL modules are included: they use <id:...> for primary keys.
register_converter(IdConverter, "id")
handler404 = "core.exception_handler.not_found"
handler500 = "core.exception_handler.server_error"
handler400 = "core.exception_handler.bad_request"
handler403 = "core.exception_handler.permission_denied"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("dashboard/", dashboard, name="dashboard"),
    path("dashboard/data.json", dashboard_data, name="dashboard-data"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its script as a file (no inline script: a Content-Security-Policy of 'self' holds).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("", include("ops.urls")),
    path("", include("economy.urls")),
    path("", include("market.urls")),
    path("", include("sandbox.urls")),
    path("", include("attention.urls")),
    path("", include("evolution.urls")),
]
