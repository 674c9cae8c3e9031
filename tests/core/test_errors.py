"""One error class per code: the base cannot be raised, and no two classes answer the same code differently."""

import importlib

import pytest

from core.errors import DomainError

APPS = ["economy", "market", "sandbox", "attention", "evolution"]


def _all_error_classes() -> list[type[DomainError]]:
    for app in APPS:
        importlib.import_module(f"{app}.errors")
    found, todo = [], list(DomainError.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_the_base_class_cannot_be_raised_without_a_code():
    with pytest.raises(TypeError):
        DomainError("something went wrong")


def test_every_error_class_declares_its_own_code_and_a_4xx_status():
    classes = _all_error_classes()
    assert len(classes) > 30
    for cls in classes:
        assert cls.code and cls.code == cls.code.lower(), cls
        assert 400 <= cls.status < 500, cls
        assert cls().code == cls.code


def test_a_code_means_one_status_wherever_it_is_declared():
    statuses: dict[str, set[int]] = {}
    for cls in _all_error_classes():
        statuses.setdefault(cls.code, set()).add(cls.status)
    assert {code: s for code, s in statuses.items() if len(s) > 1} == {}
