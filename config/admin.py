"""The project's admin site: Django's, except that judges land on their review queue.

Installed in place of ``django.contrib.admin`` (``config.admin.AdminConfig``), so every ``@admin.register`` still
registers here. A judge (a member of the judges group who is not a superuser) who logs in without asking for another
page goes straight to the review queue; the admin home shows every judge the queue with how many items wait.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.urls import reverse


class AdminSite(admin.AdminSite):
    site_header = "bp-agents administration"
    site_title = "bp-agents admin"
    index_title = "Economy administration"

    def login(self, request, extra_context=None):
        response = super().login(request, extra_context)
        asked = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME)
        index = reverse("admin:index", current_app=self.name)
        if (
            request.method == "POST"
            and response.status_code == 302
            and (not asked or asked == index)
            and _judge_only(request.user)
        ):
            response["Location"] = reverse("admin:attention_humanreward_review", current_app=self.name)
        return response

    def each_context(self, request):
        context = super().each_context(request)
        from attention import selectors

        if selectors.is_judge(request.user):
            context["review_queue_url"] = reverse("admin:attention_humanreward_review", current_app=self.name)
            context["review_waiting"] = selectors.review_queue(judge=request.user).count()
        return context


def _judge_only(user) -> bool:
    from attention import selectors

    return selectors.is_judge(user) and not user.is_superuser


class AdminConfig(DjangoAdminConfig):
    default_site = "config.admin.AdminSite"
