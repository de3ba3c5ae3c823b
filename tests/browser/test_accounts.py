"""Account security on a 360 px phone: a coordinator sets up the second factor at first
login, then the team, data-subject and warning pages — accessibly, without overflow."""

import re

import pytest
from django.test import override_settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from lien.core.models import Role
from tests.browser.conftest import format_violations, run_axe, screenshot
from tests.factories import StructureFactory, make_membership, make_territories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "un-mot-de-passe-long"


def check(page):
    violations = run_axe(page)
    assert not violations, format_violations(violations)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"la page déborde : {width} px de large pour un écran de 360 px"


@pytest.fixture
def coordinator(transactional_db):
    make_territories()
    return make_membership(Role.COORDINATOR, structure=StructureFactory(name="Lien Solidarité"))


@override_settings(LIEN_TWO_FACTOR_ROLES=("coordinator",))
def test_second_factor_set_up_and_account_pages_on_a_phone(live_server, phone, coordinator):
    page = phone
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Adresse e-mail").fill(coordinator.user.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r".*/accounts/double-authentification/.*"))
    assert page.locator(".qr-code svg").is_visible()
    check(page)
    screenshot(page, "accounts-totp-setup-360")

    device = TOTPDevice.objects.get(user=coordinator.user)
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0):06d}"
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Activer").click()
    codes = page.locator("ul.recovery-codes li")
    assert codes.count() == 10
    check(page)
    page.get_by_role("button", name="J'ai noté mes codes, continuer").click()
    page.wait_for_url(f"{live_server.url}/")

    for path in [
        "/accounts/securite/",
        "/equipe/",
        "/suivis/droits-des-personnes/?term=M.+X.",
        "/textes-libres/avertissements/",
    ]:
        page.goto(f"{live_server.url}{path}")
        assert page.get_by_role("heading", level=1).is_visible(), path
        check(page)
    screenshot(page, "accounts-warnings-360")
