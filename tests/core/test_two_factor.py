"""Second factor: required for coordination, steering and admin; offered to everyone;
recovery codes; the session cannot reach any page before the code is given."""

import re

import pytest
from django.test import Client, override_settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from lien.core.models import AuditAction, AuditEvent, Role
from tests.factories import make_membership

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("territories"),
]

PASSWORD = "un-mot-de-passe-long"
REQUIRED = override_settings(LIEN_TWO_FACTOR_ROLES=("coordinator", "steering", "admin"))


def login(client, user):
    response = client.post("/accounts/login/", {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    return response


def code_for(device: TOTPDevice, *, offset: int = 0) -> str:
    device.refresh_from_db()
    value = totp(device.bin_key, step=device.step, t0=device.t0 - offset * device.step)
    return f"{value:06d}"


def set_up_totp(client) -> tuple[TOTPDevice, list[str]]:
    page = client.get("/accounts/double-authentification/")
    assert page.status_code == 200
    device = TOTPDevice.objects.get(confirmed=False)
    response = client.post("/accounts/double-authentification/", {"token": code_for(device)})
    assert response.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", response.content.decode())
    assert 'href="home"' not in response.content.decode()
    return device, codes


@REQUIRED
@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.STEERING, Role.ADMIN])
def test_required_roles_reach_nothing_before_setting_up_a_second_factor(client, role):
    membership = make_membership(role)
    login(client, membership.user)
    for path in ["/", "/tableaux-de-bord/", "/journal/", "/admin/"]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/accounts/double-authentification/")
    page = client.get("/accounts/double-authentification/")
    body = page.content.decode()
    assert "obligatoire" in body
    assert "<svg" in body  # the QR code, drawn on the server
    assert re.search(r'<code id="totp-secret">[A-Z2-7 ]{20,}</code>', body)


@REQUIRED
def test_setup_with_a_wrong_code_is_refused_then_a_right_code_gives_recovery_codes(client):
    membership = make_membership(Role.COORDINATOR)
    login(client, membership.user)
    client.get("/accounts/double-authentification/")
    device = TOTPDevice.objects.get(user=membership.user)
    wrong = client.post("/accounts/double-authentification/", {"token": "000000"})
    assert "Ce code ne correspond pas" in wrong.content.decode()
    assert not TOTPDevice.objects.get(pk=device.pk).confirmed
    assert client.get("/").status_code == 302
    device, codes = set_up_totp(client)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    assert client.get("/").status_code == 200
    assert AuditEvent.objects.filter(
        action=AuditAction.SECURITY, note="double authentification activée"
    ).exists()


NO_THROTTLE = override_settings(OTP_TOTP_THROTTLE_FACTOR=0, OTP_STATIC_THROTTLE_FACTOR=0)


@REQUIRED
@NO_THROTTLE
def test_next_login_asks_for_the_code_and_accepts_a_recovery_code_once(client):
    membership = make_membership(Role.COORDINATOR)
    membership.user.set_password(PASSWORD)
    membership.user.save()
    login(client, membership.user)
    device, codes = set_up_totp(client)

    other = Client()
    login(other, membership.user)
    response = other.get("/tableaux-de-bord/")
    assert response.headers["Location"].startswith("/accounts/verification/")
    bad = other.post("/accounts/verification/", {"token": "123456"})
    assert "pas valable" in bad.content.decode()
    assert other.get("/").status_code == 302
    good = other.post("/accounts/verification/", {"token": codes[0], "next": "/tableaux-de-bord/"})
    assert good.status_code == 302 and good.headers["Location"] == "/tableaux-de-bord/"
    assert other.get("/").status_code == 200

    third = Client()
    login(third, membership.user)
    reused = third.post("/accounts/verification/", {"token": codes[0]})
    assert reused.status_code == 200  # a recovery code serves once
    assert third.get("/").status_code == 302
    fresh = third.post("/accounts/verification/", {"token": code_for(device, offset=1)})
    assert fresh.status_code == 302
    assert third.get("/").status_code == 200


@REQUIRED
def test_after_a_wrong_code_the_next_try_is_delayed(client):
    """django-otp throttling: a wrong code makes the next one wait (1 s, then 2, 4…)."""
    membership = make_membership(Role.COORDINATOR)
    login(client, membership.user)
    device, _codes = set_up_totp(client)
    other = Client()
    login(other, membership.user)
    other.post("/accounts/verification/", {"token": "123456"})
    refused = other.post("/accounts/verification/", {"token": code_for(device, offset=-1)})
    assert refused.status_code == 200
    assert "retardé" in refused.content.decode()


@REQUIRED
def test_an_offsite_next_is_ignored_after_verification(client):
    membership = make_membership(Role.COORDINATOR)
    login(client, membership.user)
    _device, codes = set_up_totp(client)
    other = Client()
    login(other, membership.user)
    response = other.post(
        "/accounts/verification/", {"token": codes[1], "next": "https://evil.example/"}
    )
    assert response.headers["Location"] == "/"


@REQUIRED
def test_mediators_are_offered_the_second_factor_and_may_remove_it(client):
    membership = make_membership(Role.MEDIATOR)
    login(client, membership.user)
    assert client.get("/").status_code == 200
    security = client.get("/accounts/securite/").content.decode()
    assert "Non activée" in security
    set_up_totp(client)
    assert (
        "Désactiver la double authentification"
        in client.get("/accounts/securite/").content.decode()
    )
    client.post("/accounts/double-authentification/desactiver/")
    assert not TOTPDevice.objects.filter(user=membership.user).exists()


@REQUIRED
def test_a_required_second_factor_cannot_be_removed(client):
    membership = make_membership(Role.COORDINATOR)
    login(client, membership.user)
    set_up_totp(client)
    response = client.post("/accounts/double-authentification/desactiver/", follow=True)
    assert "ne peut pas être désactivée" in response.content.decode()
    assert TOTPDevice.objects.filter(user=membership.user, confirmed=True).exists()


@REQUIRED
@NO_THROTTLE
def test_regenerating_recovery_codes_spends_the_old_ones(client):
    membership = make_membership(Role.COORDINATOR)
    login(client, membership.user)
    _device, old = set_up_totp(client)
    page = client.post("/accounts/double-authentification/codes/")
    new = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", page.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    other = Client()
    login(other, membership.user)
    assert other.post("/accounts/verification/", {"token": old[0]}).status_code == 200
    assert other.post("/accounts/verification/", {"token": new[0]}).status_code == 302


@override_settings(
    LIEN_TWO_FACTOR_ROLES=("coordinator", "steering", "admin"), LIEN_DEMO_LOGINS_ENABLED=True
)
def test_demo_accounts_are_exempt(client):
    membership = make_membership(Role.COORDINATOR)
    membership.user.email = "coordination@demo.lien.test"
    membership.user.save()
    login(client, membership.user)
    assert client.get("/").status_code == 200


def test_without_required_roles_a_coordinator_is_not_stopped(client):
    """The test settings turn the requirement off (force_login everywhere else)."""
    membership = make_membership(Role.COORDINATOR)
    login(client, membership.user)
    assert client.get("/").status_code == 200


@REQUIRED
def test_setting_up_from_the_security_page_returns_to_a_real_page(client):
    membership = make_membership(Role.MEDIATOR)
    login(client, membership.user)
    set_up_totp(client)
    page = client.post("/accounts/double-authentification/codes/").content.decode()
    assert 'href="/accounts/securite/"' in page
