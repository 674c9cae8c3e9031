"""A worker's start-up says "runtime image … is present" at INFO through logging, not on stderr (which Celery
re-logs as a WARNING: a false alarm in every worker's log)."""

from __future__ import annotations

import logging

import pytest

from sandbox.image import ensure_runtime_image

pytestmark = pytest.mark.docker


def test_an_existing_runtime_image_is_logged_at_info_and_nothing_is_printed(caplog, capfd):
    with caplog.at_level(logging.INFO, logger="sandbox.image"):
        tag = ensure_runtime_image()
    assert capfd.readouterr().err == ""
    present = [record for record in caplog.records if "is present" in record.getMessage()]
    assert [record.levelno for record in present] == [logging.INFO]
    assert tag in present[0].getMessage()
