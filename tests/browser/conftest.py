"""Browser tests: headless Chromium (Debian's chromium + chromium-driver) driven by Selenium against the app under
gunicorn with DEBUG=0 and WhiteNoise, on the test database (tests here commit their data: ``transactional_db``).

``scripts/ensure-chromium.sh`` (``make chromium``, part of ``make test``) installs the browser; a missing browser
fails the tests, never skips them. Screenshots go to ``var/screenshots/``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import suppress
from pathlib import Path
from urllib.parse import quote

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
SCREENSHOTS = ROOT / "var" / "screenshots"
PORTS = os.environ.get("BP_TEST_BROWSER_PORTS", "8162-8164")  # the first free one is used


def free_port() -> int:
    """The first port of PORTS nobody listens on: with a taken port, gunicorn would fail to bind and the tests would
    talk to someone else's server."""
    import socket

    low, _, high = PORTS.partition("-")
    for port in range(int(low), int(high or low) + 1):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.fail(f"no free port in BP_TEST_BROWSER_PORTS={PORTS}")


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--window-size=1400,1000",
]


def _database_url(settings_dict: dict) -> str:
    user = quote(settings_dict.get("USER") or "")
    password = quote(settings_dict.get("PASSWORD") or "")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or "5432"
    return f"postgres://{credentials}{host}:{port}/{settings_dict['NAME']}"


@pytest.fixture(scope="session")
def web_server(django_db_setup, django_db_blocker, tmp_path_factory):
    """gunicorn serving the test database with DEBUG=0, after a real collectstatic; stopped before the test
    database is dropped."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.fail("the browser tests run the app under gunicorn on PostgreSQL (DATABASE_URL=postgres://...)")
    static_root = tmp_path_factory.mktemp("static")
    port = free_port()
    env = {
        **os.environ,
        "DEBUG": "0",
        "BP_INSECURE_DEV_KEY": "1",
        "DATABASE_URL": _database_url(connection.settings_dict),
        "PORT": str(port),
        "STATIC_ROOT": str(static_root),
        "GUNICORN_WORKERS": "2",
        "REWARD_PER_POINT": "100",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    log = (ROOT / "var" / "test-browser-gunicorn.log").open("wb")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi", "-c", "config/gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if server.poll() is not None:
            pytest.fail(f"gunicorn exited ({server.returncode}); see var/test-browser-gunicorn.log")
        with suppress(OSError), urllib.request.urlopen(f"{url}/static/admin/css/base.css", timeout=2):  # noqa: S310
            time.sleep(0.5)
            if server.poll() is not None:  # something else answered on our port
                pytest.fail(f"gunicorn exited ({server.returncode}) and port {port} is taken by another server")
            break
        if time.monotonic() > deadline:
            server.kill()
            pytest.fail("gunicorn did not answer within 60 s; see var/test-browser-gunicorn.log")
        time.sleep(0.3)
    try:
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(scope="session")
def _chromium_installed() -> None:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} missing: run scripts/ensure-chromium.sh (apt-get install chromium chromium-driver)",
            pytrace=False,
        )


@pytest.fixture
def browser(_chromium_installed):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never try to download a browser or a driver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def shot(driver, name: str) -> Path:
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def login(driver, base: str, username: str, password: str, next_path: str = "") -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/admin/login/" + (f"?next={next_path}" if next_path else ""))
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()


def foreign_resources(driver, base: str) -> list[str]:
    """Every resource the page loaded from another origin than ours."""
    names = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".concat(performance.getEntriesByType('navigation').map(e => e.name));"
    )
    return [name for name in names if not name.startswith(base + "/") and not name.startswith("data:")]


def console_errors(driver) -> list[dict]:
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
