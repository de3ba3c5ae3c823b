"""The shell on a 360 px phone: log in, see the role's home page, log out — accessibly."""

import pytest

from lien.core.models import AuditAction, AuditEvent, Role
from tests.browser.conftest import format_violations, run_axe, screenshot
from tests.factories import StructureFactory, make_membership, make_territories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "un-mot-de-passe-long"


def assert_no_horizontal_scroll(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"la page déborde : {width} px de large pour un écran de 360 px"


def assert_accessible(page):
    violations = run_axe(page)
    assert not violations, format_violations(violations)


@pytest.fixture
def coordinator(transactional_db):
    make_territories()
    membership = make_membership(
        Role.COORDINATOR, structure=StructureFactory(name="Médiation Roubaix Solidarité")
    )
    membership.user.full_name = "Camille Martin"
    membership.user.save()
    return membership


def test_coordinator_journey_on_a_phone(live_server, phone, coordinator):
    page = phone
    page.goto(f"{live_server.url}/")
    # Anonymous: sent to the login page.
    assert page.url == f"{live_server.url}/accounts/login/"
    assert page.locator("html").get_attribute("lang") == "fr"
    assert_accessible(page)
    assert_no_horizontal_scroll(page)

    # A wrong password: the error is announced and gets the focus.
    page.get_by_label("Adresse e-mail").fill(coordinator.user.email)
    page.get_by_label("Mot de passe").fill("pas-le-bon")
    page.get_by_role("button", name="Se connecter").click()
    alert = page.get_by_role("alert")
    assert "Adresse e-mail ou mot de passe incorrect" in alert.inner_text()
    assert page.evaluate("document.activeElement.id") == "login-errors"
    assert_accessible(page)
    screenshot(page, "shell-login-error-360")

    page.get_by_label("Adresse e-mail").fill(coordinator.user.email.upper())
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{live_server.url}/")

    # The coordinator's home page: their scope and their cards.
    assert page.get_by_role("heading", level=1).inner_text() == "Bonjour Camille Martin"
    assert "Médiation Roubaix Solidarité" in page.locator("header").inner_text()
    cards = page.locator("ul.cards > li")
    assert cards.count() >= 5
    assert page.get_by_role("heading", name="Planifier les tournées et permanences").is_visible()
    assert page.get_by_role("link", name="Journal d'audit").is_visible()
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    screenshot(page, "shell-home-coordinator-360")

    # On a phone the menu is a disclosure; it opens from the keyboard.
    wide_menu = page.locator("nav.nav-wide")
    assert not wide_menu.is_visible()
    summary = page.locator("details.nav-narrow > summary")
    summary.focus()
    page.keyboard.press("Enter")
    menu = page.locator("details.nav-narrow nav")
    assert menu.get_by_role("link", name="Accueil").get_attribute("aria-current") == "page"
    assert menu.get_by_role("link", name="Journal d'audit").is_visible()
    assert_no_horizontal_scroll(page)
    assert_accessible(page)
    screenshot(page, "shell-menu-open-360")
    # Escape closes it and gives the focus back to its button (lien.js).
    page.keyboard.press("Escape")
    assert not menu.is_visible()
    assert page.evaluate("document.activeElement.textContent.trim()") == "Menu"
    page.keyboard.press("Enter")
    # Only one header menu is open at a time.
    page.locator("details.account-menu > summary").click()
    assert not menu.is_visible()
    assert page.get_by_role("button", name="Se déconnecter").is_visible()
    summary.click()
    menu.get_by_role("link", name="Journal d'audit").click()
    page.wait_for_url(f"{live_server.url}/journal/")
    assert page.get_by_role("heading", level=1).inner_text() == "Journal d'audit"
    assert page.get_by_role("table").is_visible()
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    screenshot(page, "shell-journal-360")

    # Log out from the account menu (a POST form).
    page.locator("details.account-menu > summary").click()
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(f"{live_server.url}/accounts/login/")
    assert "Vous êtes déconnecté·e" in page.get_by_role("status").inner_text()
    actions = set(
        AuditEvent.objects.filter(actor_id=coordinator.user.pk).values_list("action", flat=True)
    )
    assert {AuditAction.LOGIN, AuditAction.LOGOUT} <= actions


def test_axe_reports_violations_when_there_are_some(live_server, phone):
    """Control: the accessibility check can fail."""
    phone.goto(f"{live_server.url}/accounts/login/")
    phone.evaluate(
        """() => {
            document.documentElement.removeAttribute("lang");
            document.querySelector("label[for=id_username]").remove();
        }"""
    )
    found = {violation["id"] for violation in run_axe(phone)}
    assert {"html-has-lang", "label"} <= found


def test_skip_link_is_the_first_tab_stop_and_reaches_the_content(live_server, phone):
    page = phone
    # A page without autofocus (the login page puts the focus in the e-mail field).
    page.goto(f"{live_server.url}/page-qui-n-existe-pas/")
    assert page.get_by_role("heading", level=1).inner_text() == "Page introuvable"
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused.strip() == "Aller au contenu"
    assert page.locator("a.skip-link").is_visible()
    page.keyboard.press("Enter")
    assert page.url.endswith("#contenu")
    assert_accessible(page)


def test_wide_screen_shows_the_menu_inline(live_server, browser, coordinator):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="fr-FR")
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Adresse e-mail").fill(coordinator.user.email)
        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url(f"{live_server.url}/")
        assert page.locator("nav.nav-wide").is_visible()
        assert not page.locator("details.nav-narrow").is_visible()
        assert_accessible(page)
        screenshot(page, "shell-home-coordinator-1280")
    finally:
        context.close()


def test_dark_scheme_keeps_contrast(live_server, browser, coordinator):
    context = browser.new_context(viewport={"width": 360, "height": 740}, color_scheme="dark")
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        assert_accessible(page)
        page.get_by_label("Adresse e-mail").fill(coordinator.user.email)
        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url(f"{live_server.url}/")
        assert_accessible(page)
        screenshot(page, "shell-home-coordinator-360-dark")
    finally:
        context.close()


def test_switching_membership_on_a_phone(live_server, phone, coordinator):
    make_membership(
        Role.MEDIATOR,
        structure=StructureFactory(name="Bailleur Social Médiation"),
        user=coordinator.user,
    )
    page = phone
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Adresse e-mail").fill(coordinator.user.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{live_server.url}/")
    page.locator("details.account-menu > summary").click()
    switcher = page.get_by_role("group", name="Agir en tant que")
    assert switcher.is_visible()
    assert switcher.get_by_role("radio", name="Coordination de structure").is_checked()
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    screenshot(page, "shell-account-menu-360")
    switcher.get_by_role("radio", name="Bailleur Social Médiation").check()
    page.get_by_role("button", name="Changer de rattachement").click()
    page.wait_for_url(f"{live_server.url}/")
    assert "Bailleur Social Médiation" in page.locator(".context-bar").inner_text()
    assert "Vous agissez maintenant en tant que" in page.get_by_role("status").inner_text()
    assert page.get_by_role("heading", name="Saisir une intervention").is_visible()
    assert AuditEvent.objects.filter(action=AuditAction.SWITCH).count() == 1
