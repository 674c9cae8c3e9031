"""Admin: the attention state (staff edit the controller), bids and ticks (read-only), and the judges' review queue.

The review queue (``/admin/attention/humanreward/review/``) is for judges (staff users in the ``judges`` group): the
oldest queued item they may score, its artifact escaped in a ``<pre>``, the agent, its generation and parent, the
price paid, a 0..10 score and a comment; scoring goes straight on to the next item.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from attention import selectors, services
from attention.models import COMMENT_MAX_LENGTH, MAX_SCORE, AttentionBid, AttentionState, AttentionTick, HumanReward
from bidbook.admin import ControllerAdmin
from core.admin import ReadOnlyAdmin
from core.errors import DomainError

REVIEW_ARTIFACT_CHARS = 20_000


def artifact_html(text: str, *, cap: int = REVIEW_ARTIFACT_CHARS):
    """The artifact escaped inside a readable ``<pre>``, cut at ``cap`` characters with a note saying so."""
    shown, rest = text[:cap], max(0, len(text) - cap)
    pre = format_html(
        '<pre class="bp-artifact" style="white-space: pre-wrap; word-break: break-word; max-height: 40em; '
        'overflow: auto; padding: 1em; border: 1px solid var(--hairline-color, #ccc)">{}</pre>',
        shown,
    )
    if rest:
        return format_html("{}<p>… {} more characters not shown.</p>", pre, rest)
    return pre


@admin.register(AttentionState)
class AttentionStateAdmin(ControllerAdmin):
    """Staff tune the reserve price's controller; utilization and the open tick move only by ticks."""

    list_display = ["id", "price", "floor", "ceiling", "target_utilization", "utilization_ema", "open_tick"]
    fields = [*AttentionState.EDITABLE, "open_tick", "utilization", "utilization_ema", "updated_at"]
    readonly_fields = ["open_tick", "utilization", "utilization_ema", "updated_at"]


@admin.register(AttentionBid)
class AttentionBidAdmin(ReadOnlyAdmin):
    list_display = ["id", "agent", "execution", "tick_number", "status", "max_price", "price", "created_at"]
    list_filter = ["status"]
    list_select_related = ["agent", "execution"]


@admin.register(AttentionTick)
class AttentionTickAdmin(ReadOnlyAdmin):
    list_display = ["number", "started_at", "bids", "winner", "price", "reserve", "next_price", "utilization_ema"]


class ReviewScoreForm(forms.Form):
    score = forms.TypedChoiceField(
        choices=[(n, str(n)) for n in range(MAX_SCORE + 1)], coerce=int, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        required=False, max_length=COMMENT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3, "cols": 80})
    )


@admin.register(HumanReward)
class HumanRewardAdmin(ReadOnlyAdmin):
    list_display = ["execution", "agent", "status", "price_paid", "score", "minted", "judged_by", "queued_at", "review"]
    list_filter = ["status"]
    list_select_related = ["agent", "execution"]
    exclude = ["transfer"]
    readonly_fields = ["artifact"]

    @admin.display(description="artifact")
    def artifact(self, obj: HumanReward):
        return artifact_html(obj.execution.artifact)

    @admin.display(description="")
    def review(self, obj: HumanReward):
        if obj.status != HumanReward.Status.QUEUED:
            return ""
        return format_html('<a href="{}">review</a>', reverse("admin:attention_humanreward_review_item", args=[obj.pk]))

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("review/", wrap(self.review_next_view), name="attention_humanreward_review"),
            path("review/<int:item_id>/", wrap(self.review_item_view), name="attention_humanreward_review_item"),
            *super().get_urls(),
        ]

    def _judge_only(self, request: HttpRequest) -> None:
        if not selectors.is_judge(request.user):
            raise PermissionDenied("The review queue is for judges (members of the judges group).")

    def review_next_view(self, request: HttpRequest) -> HttpResponse:
        """The oldest item this judge may score, or a page saying the queue is empty."""
        self._judge_only(request)
        item = selectors.next_review_item(judge=request.user)
        if item is not None:
            return redirect("admin:attention_humanreward_review_item", item_id=item.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Review queue",
            "scored_today": selectors.scored_today(judge=request.user),
        }
        return TemplateResponse(request, "admin/attention/review_empty.html", context)

    def review_item_view(self, request: HttpRequest, item_id: int) -> HttpResponse:
        self._judge_only(request)
        item = get_object_or_404(
            HumanReward.objects.select_related("agent", "agent__parent", "execution", "judge"), pk=item_id
        )
        form = ReviewScoreForm(request.POST or None)
        status = 200
        if request.method == "POST" and form.is_valid():
            try:
                scored = services.judge_execution(
                    judge=request.user,
                    execution_id=item.execution_id,
                    score=form.cleaned_data["score"],
                    comment=form.cleaned_data["comment"],
                )
            except DomainError as exc:
                messages.error(request, exc.detail)
                status = exc.status
                item.refresh_from_db()
            else:
                messages.success(
                    request,
                    f"Execution {scored.execution_id} scored {scored.score}: {scored.minted} credits minted."
                    + (f" ({scored.note})" if scored.note else ""),
                )
                return redirect("admin:attention_humanreward_review")
        elif request.method == "POST":
            status = 400
        owns = item.agent.owner_id is not None and item.agent.owner_id == request.user.pk
        following = selectors.next_review_item(judge=request.user, after=item)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Review execution {item.execution_id}",
            "item": item,
            "artifact": artifact_html(item.execution.artifact),
            "form": form,
            "can_score": item.status == HumanReward.Status.QUEUED and not owns,
            "owns": owns,
            "next_item": following,
            "remaining": selectors.review_queue(judge=request.user).count(),
            "scored_today": selectors.scored_today(judge=request.user),
        }
        return TemplateResponse(request, "admin/attention/review_item.html", context, status=status)
