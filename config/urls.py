from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from evolution.dashboard import dashboard

urlpatterns = [
    path("admin/", admin.site.urls),
    path("dashboard/", dashboard, name="dashboard"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include("economy.urls")),
    path("", include("market.urls")),
    path("", include("sandbox.urls")),
    path("", include("attention.urls")),
    path("", include("evolution.urls")),
]
