"""Content negotiation remembered per Accept header (core.negotiation) answers what DRF's own negotiation answers."""

from __future__ import annotations

import pytest
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from core.negotiation import RememberingContentNegotiation
from tests.factories import auth, make_agent

HEADERS = [None, "*/*", "application/json", "application/json; indent=4", "text/html, */*;q=0.1", "application/*"]


@pytest.mark.parametrize("renderer_classes", [[JSONRenderer], [JSONRenderer, BrowsableAPIRenderer]])
def test_it_chooses_what_drf_chooses_first_time_and_after(renderer_classes):
    factory = APIRequestFactory()
    for header in HEADERS * 2:  # the second pass is answered from the memo
        extra = {} if header is None else {"HTTP_ACCEPT": header}
        renderers = [cls() for cls in renderer_classes]
        ours = RememberingContentNegotiation().select_renderer(Request(factory.get("/", **extra)), renderers)
        drfs = DefaultContentNegotiation().select_renderer(Request(factory.get("/", **extra)), renderers)
        assert (type(ours[0]), ours[1]) == (type(drfs[0]), drfs[1]), header
        assert ours[0] in renderers  # this request's renderer, not a remembered instance


def test_an_unacceptable_header_is_refused_every_time():
    request = Request(APIRequestFactory().get("/", HTTP_ACCEPT="text/csv"))
    for _ in range(2):
        with pytest.raises(exceptions.NotAcceptable):
            RememberingContentNegotiation().select_renderer(request, [JSONRenderer()])


@pytest.mark.django_db
def test_the_api_still_answers_406_as_json(api):
    agent, token = make_agent()
    for _ in range(2):
        answer = api.get(f"/economic/balance/{agent.id}", HTTP_ACCEPT="text/csv", **auth(token))
        assert (answer.status_code, answer.json()["code"]) == (406, "not_acceptable")
    answer = api.get(f"/economic/balance/{agent.id}", HTTP_ACCEPT="application/json", **auth(token))
    assert answer.status_code == 200 and answer["Content-Type"] == "application/json"
