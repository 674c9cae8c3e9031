"""``manage.py add_judge``: creates the judge when needed, never a superuser, password from a file/env/prompt."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from attention.selectors import is_judge

pytestmark = pytest.mark.django_db


def run(*args, **kwargs) -> str:
    out = io.StringIO()
    call_command("add_judge", *args, stdout=out, **kwargs)
    return out.getvalue()


def test_a_new_judge_is_created_with_the_password_from_a_file(tmp_path, client):
    secret = tmp_path / "pw"
    secret.write_text("a-long-judge-password\n")
    output = run("judy", "--password-file", str(secret))
    judy = User.objects.get(username="judy")
    assert is_judge(judy) and judy.is_staff and not judy.is_superuser
    assert "/admin/login/" in output and "/admin/attention/humanreward/review/" in output
    assert client.login(username="judy", password="a-long-judge-password")


def test_the_password_can_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("BP_JUDGE_PASSWORD", "another-long-password")
    run("june")
    assert User.objects.get(username="june").check_password("another-long-password")


def test_a_new_judge_without_a_password_is_refused_without_a_prompt(monkeypatch):
    monkeypatch.delenv("BP_JUDGE_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="needs a password"):
        run("nopass", "--no-input")
    assert not User.objects.filter(username="nopass").exists()


def test_a_new_judge_gets_the_password_from_a_prompt(monkeypatch):
    monkeypatch.delenv("BP_JUDGE_PASSWORD", raising=False)
    answers = iter(["prompted-password-1", "prompted-password-1"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    run("prompted")
    assert User.objects.get(username="prompted").check_password("prompted-password-1")


def test_a_weak_password_is_refused(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("short")
    with pytest.raises(CommandError, match="too short"):
        run("weak", "--password-file", str(secret))
    assert not User.objects.filter(username="weak").exists()


def test_an_existing_user_keeps_their_password_unless_one_is_given(monkeypatch, tmp_path):
    monkeypatch.delenv("BP_JUDGE_PASSWORD", raising=False)
    User.objects.create_user("old", password="old-long-password")
    run("old")
    old = User.objects.get(username="old")
    assert is_judge(old) and old.check_password("old-long-password") and not old.is_superuser
    secret = tmp_path / "pw"
    secret.write_text("new-long-password")
    run("old", "--password-file", str(secret))
    assert User.objects.get(username="old").check_password("new-long-password")
