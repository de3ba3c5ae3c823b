"""The notifications on a 360 px phone and a wide screen: the header's count, the list,
opening one, marking all read — accessibly, without horizontal scrolling, under the CSP."""

import pytest

from lien.core.models import Role
from lien.notifications.services import notify
from tests.browser.conftest import (  # noqa: F401 — fixtures used by name
    browser,
    format_violations,
    phone,
    run_axe,
    screenshot,
)
from tests.factories import StructureFactory, make_membership, make_territories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "un-mot-de-passe-long"


@pytest.fixture
def coordinator(transactional_db):
    make_territories()
    membership = make_membership(
        Role.COORDINATOR, structure=StructureFactory(name="Médiation Roubaix Solidarité")
    )
    notify(
        recipients=[membership.user],
        kind="report.acknowledged",
        title="Signalement pris en compte",
        body="Le bailleur a pris en compte le signalement « éclairage du hall ».",
        url="/journal-de-bord/",
        email=False,
    )
    for title in ("Orientation acceptée", "Étape de suivi à faire"):
        notify(recipients=[membership.user], kind="x", title=title, url="/", email=False)
    return membership


def log_in(page, live_server, membership):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Adresse e-mail").fill(membership.user.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{live_server.url}/")


def check_page(page, width):
    violations = run_axe(page)
    assert not violations, format_violations(violations)
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"la page déborde : {scroll_width} px pour {width} px"


def test_notifications_on_a_phone(live_server, phone, coordinator):  # noqa: F811
    page = phone
    log_in(page, live_server, coordinator)
    link = page.locator("a.notifications-link")
    assert link.is_visible()
    # The count is read out with its meaning, not as a bare number.
    assert link.evaluate("a => a.textContent.replace(/\\s+/g, ' ').trim()") == (
        "Notifications 3 non lues"
    )
    check_page(page, 360)
    screenshot(page, "notifications-header-360")

    link.click()
    page.wait_for_url(f"{live_server.url}/notifications/")
    assert page.get_by_role("heading", level=1).inner_text() == "Notifications"
    assert page.locator(".unread-badge").count() == 3
    check_page(page, 360)
    screenshot(page, "notifications-list-360")

    page.get_by_role("button", name="Ouvrir : Signalement pris en compte").click()
    page.wait_for_url(f"{live_server.url}/journal-de-bord/")
    assert "2 non lues" in page.locator("a.notifications-link").text_content()

    page.goto(f"{live_server.url}/notifications/")
    page.get_by_role("button", name="Tout marquer comme lu").click()
    page.wait_for_url(f"{live_server.url}/notifications/")
    assert "2 notifications marquées comme lues." in page.get_by_role("status").inner_text()
    assert page.locator(".unread-badge").count() == 0
    assert page.locator("a.notifications-link .badge").count() == 0
    check_page(page, 360)


def test_the_header_link_sits_next_to_the_account_menu_on_a_wide_screen(
    live_server,
    browser,  # noqa: F811
    coordinator,
):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="fr-FR")
    page = context.new_page()
    try:
        log_in(page, live_server, coordinator)
        account = page.locator("details.account-menu > summary").bounding_box()
        link = page.locator("a.notifications-link").bounding_box()
        # One row: the link is beside "Mon compte", not below it.
        assert abs((link["y"] + link["height"] / 2) - (account["y"] + account["height"] / 2)) < 8
        check_page(page, 1280)
        screenshot(page, "notifications-header-1280")
    finally:
        context.close()
