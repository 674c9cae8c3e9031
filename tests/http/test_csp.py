"""A strict Content-Security-Policy on the admin, the dashboard, the API docs and the API (issue 9, CI headers)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import make_user

pytestmark = pytest.mark.django_db


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def assert_strict(directives: dict[str, list[str]], *, allowed_script_hosts: tuple[str, ...] = ()) -> None:
    assert directives["default-src"] == ["'self'"]
    scripts = directives["script-src"]
    assert "'self'" in scripts
    assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"} & set(scripts), scripts
    assert set(scripts) - {"'self'"} <= set(allowed_script_hosts), scripts
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]


@pytest.mark.parametrize(
    ("path", "staff"), [("/admin/login/", False), ("/admin/", True), ("/dashboard/", True), ("/market/prices", True)]
)
def test_pages_carry_a_strict_policy(path, staff):
    client = Client()
    if staff:
        client.force_login(make_user(staff=True))
    response = client.get(path)
    assert response.status_code == 200, path
    assert_strict(policy(response))


def test_the_docs_page_has_no_inline_script_and_a_strict_policy():
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<script>" not in html  # the init script is a separate same-origin request
    assert_strict(policy(response), allowed_script_hosts=("https://cdn.jsdelivr.net",))
    script = Client().get("/api/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


def test_the_dashboard_has_no_inline_script():
    client = Client()
    client.force_login(make_user(staff=True))
    html = client.get("/dashboard/").content.decode()
    assert "<script>" not in html and "javascript:" not in html
