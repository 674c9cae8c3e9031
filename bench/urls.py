"""The API benchmark's URLconf (never used in production): the project's URLs plus ``/bench/trivial``, the baseline
a balance read is measured against in the same server and process."""

from django.http import JsonResponse
from django.urls import path

from config.urls import urlpatterns as project_urlpatterns


def trivial(request):
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/trivial", trivial), *project_urlpatterns]
