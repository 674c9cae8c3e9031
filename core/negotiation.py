"""Content negotiation: DRF's, remembered per Accept header."""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation

MEMO_SIZE = 256  # distinct (Accept header, renderers) pairs remembered; the memo starts over when full
MEMO_HEADER_CHARS = 200  # longer headers are negotiated every time: the memo holds at most ~50 KB of client input


class RememberingContentNegotiation(DefaultContentNegotiation):
    """DRF's ``DefaultContentNegotiation`` whose choice of renderer is remembered per (``Accept`` header, the view's
    renderer classes): a client sends the same header on every request, and parsing it again cost a balance read
    several percent of its time. A ``?format=`` or a format suffix, and a header nothing can render (406
    ``not_acceptable``), go through DRF's algorithm every time."""

    _memo: dict[tuple, tuple[int, str]] = {}

    def select_renderer(self, request, renderers, format_suffix=None):
        if format_suffix or request._request.GET.get(self.settings.URL_FORMAT_OVERRIDE):
            return super().select_renderer(request, renderers, format_suffix)
        header = request._request.META.get("HTTP_ACCEPT", "*/*")
        if len(header) > MEMO_HEADER_CHARS:
            return super().select_renderer(request, renderers, format_suffix)
        key = (header, tuple(type(r) for r in renderers))
        remembered = self._memo.get(key)
        if remembered is not None:
            return renderers[remembered[0]], remembered[1]
        renderer, media_type = super().select_renderer(request, renderers, format_suffix)
        if len(self._memo) >= MEMO_SIZE:
            self._memo.clear()
        self._memo[key] = (renderers.index(renderer), media_type)
        return renderer, media_type
