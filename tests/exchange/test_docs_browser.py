"""The interactive documentation in a real Chromium: Swagger UI draws every operation
under the site's CSP (no CDN, no inline script), with no CSP violation."""

import pytest

from tests.browser.conftest import browser, phone  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_docs_draw_every_operation(live_server, phone):  # noqa: F811
    phone.set_viewport_size({"width": 1200, "height": 900})
    phone.goto(f"{live_server.url}/api/docs")
    phone.wait_for_selector(".opblock", timeout=15_000)
    summaries = phone.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/interventions/" in text for text in summaries), summaries
    assert any("/api/indicateurs/" in text for text in summaries), summaries
    assert phone.locator("button.authorize").count() == 1  # the bearer token can be entered
    phone.locator(".opblock-summary").first.click()  # an operation opens, its schemas drawn
    phone.wait_for_selector(".opblock-body", timeout=5_000)
