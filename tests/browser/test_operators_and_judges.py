"""What an operator and a judge see, in headless Chromium against gunicorn (DEBUG=0, WhiteNoise).

- a judge logs in, lands on the review queue, scores with the keyboard (a digit, Enter), and the agent's balance
  read through the API rises by score * REWARD_PER_POINT;
- the admin is styled (every stylesheet answers 200 text/css, and the header is painted);
- the dashboard draws its charts with data and logs no console error;
- /api/docs/ (Swagger UI) and /api/redoc/ render the operations offline;
- no page loads anything from another host. Screenshots: var/screenshots/.
"""

from __future__ import annotations

import json
import urllib.request

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from evolution import services as life
from market import services as market
from market.bundles import ResourceBundle
from tests.browser.conftest import console_errors, foreign_resources, login, shot
from tests.factories import make_agent, make_finished_execution, make_review_item, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
REWARD_PER_POINT = 100  # what the gunicorn under test is started with


def api_balance(base: str, agent_id: int, token: str) -> int:
    url = f"{base}/economic/balance/{agent_id}"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        return json.loads(response.read())["balance"]


def wait(driver, condition, timeout: float = 20):
    return WebDriverWait(driver, timeout).until(lambda d: condition(d))


def test_a_judge_scores_from_the_keyboard_and_the_agent_is_paid(browser, web_server):
    agent, token = make_agent(credits=1000, name="judged-agent")
    item = make_review_item(agent=agent, artifact="METHINKS IT IS LIKE A WEASEL")
    make_user(username="judy", judge=True, password="judy-browser-password")
    before = api_balance(web_server, agent.id, token)

    login(browser, web_server, "judy", "judy-browser-password")
    wait(browser, lambda d: d.current_url.endswith(f"/admin/attention/humanreward/review/{item.id}/"))
    counts = browser.find_element(By.ID, "review-counts").text
    assert counts == "1 item waiting for you · 0 scored by you today."
    assert "METHINKS IT IS LIKE A WEASEL" in browser.find_element(By.CSS_SELECTOR, "pre.bp-artifact").text
    shot(browser, "review-item")

    ActionChains(browser).send_keys("7").perform()
    wait(browser, lambda d: d.find_element(By.ID, "review-picked").text == "7")
    assert browser.find_element(By.CSS_SELECTOR, 'input[name="score"][value="7"]').is_selected()
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    wait(browser, lambda d: "scored 7" in d.page_source)
    assert "0 items waiting for you · 1 scored by you today" in browser.find_element(By.ID, "review-counts").text
    shot(browser, "review-scored")

    assert api_balance(web_server, agent.id, token) - before == 7 * REWARD_PER_POINT
    assert console_errors(browser) == []
    assert foreign_resources(browser, web_server) == []


def test_ten_is_typed_as_one_then_zero(browser, web_server):
    make_review_item()
    make_user(username="jo", judge=True, password="jo-browser-password")
    login(browser, web_server, "jo", "jo-browser-password")
    wait(browser, lambda d: "/review/" in d.current_url and d.find_elements(By.ID, "review-form"))
    ActionChains(browser).send_keys("1").send_keys("0").perform()
    wait(browser, lambda d: d.find_element(By.ID, "review-picked").text == "10")


def test_the_admin_is_styled(browser, web_server):
    make_user(username="root", staff=True, password="root-browser-password").__class__.objects.filter(
        username="root"
    ).update(is_superuser=True)
    login(browser, web_server, "root", "root-browser-password")
    wait(browser, lambda d: d.find_elements(By.ID, "site-name"))
    sheets = [link.get_attribute("href") for link in browser.find_elements(By.CSS_SELECTOR, 'link[rel="stylesheet"]')]
    assert any(sheet.endswith("/static/admin/css/base.css") for sheet in sheets), sheets
    for sheet in sheets:
        with urllib.request.urlopen(sheet, timeout=10) as response:  # noqa: S310 - loopback
            assert response.status == 200 and response.headers["Content-Type"].startswith("text/css"), sheet
    header = browser.execute_script("return getComputedStyle(document.getElementById('header')).backgroundColor")
    assert header not in ("rgba(0, 0, 0, 0)", "transparent"), header  # painted by the admin's CSS
    assert "Review items" in browser.page_source or "Attention" in browser.page_source
    shot(browser, "admin-home")
    assert console_errors(browser) == []
    assert foreign_resources(browser, web_server) == []


def _economy_with_history() -> None:
    root, _ = make_agent(credits=5000, name="root-agent")
    child = life.spawn_agent(parent_id=root.id, name="child-agent", files={"agent.py": b"pass"}, endowment=1000)
    life.spawn_agent(parent_id=child.id, name="grandchild", files={"agent.py": b"pass"}, endowment=60)
    judge = make_user(judge=True)
    from attention.services import judge_execution

    for round_, score in enumerate((3, 6, 8)):
        item = make_review_item(agent=root)
        judge_execution(judge=judge, execution_id=item.execution_id, score=score, comment="")
        make_finished_execution(agent=root, status="FAILED" if round_ == 1 else "SUCCEEDED")
        market.place_bid(agent_id=child.id, bundle=ResourceBundle(250, 64, 5), max_price=50)
        tick = market.run_market_tick()
        life.run_life_tick(tick=tick.number)


def test_the_dashboard_draws_charts_with_data_and_no_console_error(browser, web_server):
    _economy_with_history()
    make_user(username="op", staff=True, password="op-browser-password")
    login(browser, web_server, "op", "op-browser-password", next_path="/dashboard/")
    wait(browser, lambda d: d.current_url.endswith("/dashboard/"))
    wait(browser, lambda d: int(d.find_element(By.TAG_NAME, "body").get_attribute("data-charts-drawn") or 0) >= 9)
    series = browser.execute_script(
        """
        const out = {};
        for (const canvas of document.querySelectorAll('canvas')) {
          const chart = Chart.getChart(canvas);
          if (!chart) continue;
          out[canvas.id] = chart.data.datasets.map(d => d.data.filter(v => v !== null && v !== undefined).length);
          out[canvas.id + ':axes'] = Object.values(chart.options.scales).map(s => s.title && s.title.text);
        }
        return out;
        """
    )
    for chart in ("prices", "utilization", "population", "credits", "executions", "scores", "flows", "selection"):
        assert series[f"chart-{chart}"] and max(series[f"chart-{chart}"]) > 0, (chart, series)
        assert all(series[f"chart-{chart}:axes"]), (chart, series)  # both axes are titled
    # the lineage is a collapsible tree: fold the root and its descendants disappear
    summary = browser.find_element(By.CSS_SELECTOR, "#lineage details > summary > span.agent")
    grandchild = browser.find_element(By.XPATH, "//*[@id='lineage']//span[contains(., 'grandchild')]")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", summary)
    assert grandchild.is_displayed()
    summary.click()
    assert not grandchild.is_displayed()
    summary.click()
    assert grandchild.is_displayed()
    browser.execute_script("window.scrollTo(0, 0)")
    shot(browser, "dashboard")
    # a tooltip shows values on hover
    canvas = browser.find_element(By.ID, "chart-credits")
    ActionChains(browser).move_to_element(canvas).perform()
    wait(
        browser,
        lambda d: d.execute_script("return Chart.getChart('chart-credits').tooltip.getActiveElements().length") > 0,
    )
    shot(browser, "dashboard-tooltip")
    assert console_errors(browser) == []
    assert foreign_resources(browser, web_server) == []


@pytest.mark.parametrize(("path", "operation"), [("/api/docs/", ".opblock"), ("/api/redoc/", "[data-section-id]")])
def test_the_api_docs_render_offline(browser, web_server, path, operation):
    browser.get(web_server + path)
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, operation)) > 10, timeout=40)
    assert "/economic/transfer" in browser.page_source
    shot(browser, "api-" + path.strip("/").split("/")[-1])
    assert foreign_resources(browser, web_server) == []
    assert console_errors(browser) == []
