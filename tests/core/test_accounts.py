"""Invitations with expiring links, the team page, password rules, ending sessions."""

import datetime
import re

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.test import Client

from lien.core.models import AuditAction, AuditEvent, Membership, Role, User
from tests.factories import make_membership

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("territories")]

PASSWORD = "un-mot-de-passe-long"
NEW_PASSWORD = "Tournée du soir 2026 !"


def logged_in(membership) -> Client:
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": membership.user.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    return client


def invitation_link(message) -> str:
    match = re.search(r"http://[^/\s]+(/accounts/invitation/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def invite(client, django_capture_on_commit_callbacks, **data):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post("/equipe/", data)


def test_a_coordinator_invites_a_mediator_who_chooses_their_own_password(
    django_capture_on_commit_callbacks,
):
    coordinator = make_membership(Role.COORDINATOR)
    client = logged_in(coordinator)
    response = invite(
        client,
        django_capture_on_commit_callbacks,
        email="Nadia.B@Example.org",
        full_name="Nadia B.",
        role=Role.MEDIATOR,
    )
    assert response.status_code == 302
    user = User.objects.get(email="nadia.b@example.org")
    assert not user.has_usable_password()
    assert Membership.objects.get(user=user).structure == coordinator.structure
    assert [m.to for m in mail.outbox] == [["nadia.b@example.org"]]
    link = invitation_link(mail.outbox[0])
    assert "invitation en attente" in client.get("/equipe/").content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.INVITE, object_id=str(user.pk)).exists()

    invited = Client()
    weak = invited.post(link, {"new_password1": "123456789012", "new_password2": "123456789012"})
    assert weak.status_code == 200
    assert "entièrement numérique" in weak.content.decode() or "numérique" in weak.content.decode()
    short = invited.post(link, {"new_password1": "court", "new_password2": "court"})
    assert "trop court" in short.content.decode()
    common = invited.post(link, {"new_password1": "password1234", "new_password2": "password1234"})
    assert "trop courant" in common.content.decode()
    done = invited.post(link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/accounts/login/"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    # The link is spent once used.
    assert invited.get(link).status_code == 404
    login = invited.post("/accounts/login/", {"username": user.email, "password": NEW_PASSWORD})
    assert login.status_code == 302


def test_an_invitation_link_expires(django_capture_on_commit_callbacks, monkeypatch, settings):
    coordinator = make_membership(Role.COORDINATOR)
    invite(
        logged_in(coordinator),
        django_capture_on_commit_callbacks,
        email="late@example.org",
        full_name="Late",
        role=Role.MEDIATOR,
    )
    link = invitation_link(mail.outbox[0])
    # Django's token generator works in naive local time.
    now = default_token_generator._now()
    later = now + datetime.timedelta(days=settings.LIEN_INVITATION_DAYS + 1)
    monkeypatch.setattr(default_token_generator, "_now", lambda: later)
    response = Client().get(link)
    assert response.status_code == 404
    assert "plus valable" in response.content.decode()


def test_a_forged_or_other_persons_link_opens_nothing(django_capture_on_commit_callbacks):
    coordinator = make_membership(Role.COORDINATOR)
    invite(
        logged_in(coordinator),
        django_capture_on_commit_callbacks,
        email="a@example.org",
        full_name="A",
        role=Role.MEDIATOR,
    )
    link = invitation_link(mail.outbox[0])
    _, _, _, uid, token, _ = link.split("/")
    other = User.objects.create_user("b@example.org")
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    other_uid = urlsafe_base64_encode(force_bytes(other.pk))
    for path in [
        f"/accounts/invitation/{other_uid}/{token}/",
        f"/accounts/invitation/{uid}/0-0/",
        "/accounts/invitation/!!/x/",
        f"/accounts/invitation/{uid}/{token}x/",
    ]:
        assert Client().get(path).status_code == 404, path


def test_team_invitation_refusals(django_capture_on_commit_callbacks):
    coordinator = make_membership(Role.COORDINATOR)
    client = logged_in(coordinator)
    # A coordinator cannot hand out roles outside the structure.
    bad_role = invite(
        client,
        django_capture_on_commit_callbacks,
        email="x@example.org",
        full_name="X",
        role=Role.ADMIN,
    )
    assert bad_role.status_code == 400
    assert not User.objects.filter(email="x@example.org").exists()
    # Already a member with that role.
    again = invite(
        client,
        django_capture_on_commit_callbacks,
        email=coordinator.user.email,
        full_name="Moi",
        role=Role.COORDINATOR,
    )
    assert again.status_code == 400
    assert "déjà ce rôle" in again.content.decode()
    # A mediator has no team page.
    mediator = make_membership(Role.MEDIATOR, structure=coordinator.structure)
    assert logged_in(mediator).get("/equipe/").status_code == 403


def test_removing_a_member_ends_their_access_and_sessions():
    coordinator = make_membership(Role.COORDINATOR)
    mediator = make_membership(Role.MEDIATOR, structure=coordinator.structure)
    mediator_client = logged_in(mediator)
    assert mediator_client.get("/").status_code == 200
    response = logged_in(coordinator).post(f"/equipe/{mediator.pk}/retirer/")
    assert response.status_code == 302
    mediator.refresh_from_db()
    assert not mediator.is_active
    assert mediator_client.get("/").headers["Location"] == "/accounts/login/"


def test_a_coordinator_cannot_remove_themselves_or_touch_another_structure():
    coordinator = make_membership(Role.COORDINATOR)
    client = logged_in(coordinator)
    response = client.post(f"/equipe/{coordinator.pk}/retirer/", follow=True)
    assert "propre rattachement" in response.content.decode()
    coordinator.refresh_from_db()
    assert coordinator.is_active
    elsewhere = make_membership(Role.MEDIATOR)
    assert client.post(f"/equipe/{elsewhere.pk}/retirer/").status_code == 404
    assert client.post(f"/equipe/{elsewhere.pk}/renvoyer/").status_code == 404
    elsewhere.refresh_from_db()
    assert elsewhere.is_active


def test_log_out_everywhere_ends_other_sessions_and_keeps_this_one():
    membership = make_membership(Role.MEDIATOR)
    phone, desk = logged_in(membership), logged_in(membership)
    response = desk.post("/accounts/sessions/fermer/")
    assert response.status_code == 302
    assert desk.get("/").status_code == 200
    assert phone.get("/").headers["Location"] == "/accounts/login/"
    assert AuditEvent.objects.filter(note="toutes les sessions fermées").count() == 1


def test_changing_password_follows_the_rules_and_ends_other_sessions():
    membership = make_membership(Role.MEDIATOR)
    phone, desk = logged_in(membership), logged_in(membership)
    weak = desk.post(
        "/accounts/mot-de-passe/", {"new_password1": "azertyuiop12", "new_password2": "x"}
    )
    assert weak.status_code == 400
    assert "ne correspondent pas" in weak.content.decode()
    ok = desk.post(
        "/accounts/mot-de-passe/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert ok.status_code == 302
    assert desk.get("/").status_code == 200
    assert phone.get("/").status_code == 302


def test_password_reset_answers_the_same_for_unknown_addresses(
    django_capture_on_commit_callbacks,
):
    membership = make_membership(Role.MEDIATOR)
    with django_capture_on_commit_callbacks(execute=True):
        unknown = Client().post("/accounts/mot-de-passe-oublie/", {"email": "nobody@example.org"})
        known = Client().post("/accounts/mot-de-passe-oublie/", {"email": membership.user.email})
    # Same page either way, but for the per-request CSRF token.
    token = re.compile(rb'"X-CSRFToken": "[^"]*"')
    assert token.sub(b"", unknown.content) == token.sub(b"", known.content)
    assert [m.to for m in mail.outbox] == [[membership.user.email]]
    bad = Client().post("/accounts/mot-de-passe-oublie/", {"email": "pas une adresse"})
    assert bad.status_code == 400


def test_the_admin_creates_accounts_by_invitation_and_never_sets_a_password(
    django_capture_on_commit_callbacks,
):
    admin_membership = make_membership(Role.ADMIN)
    client = logged_in(admin_membership)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/core/user/add/",
            {
                "email": "new@example.org",
                "full_name": "Nouvelle",
                "memberships-TOTAL_FORMS": "0",
                "memberships-INITIAL_FORMS": "0",
            },
        )
    assert response.status_code == 302
    user = User.objects.get(email="new@example.org")
    assert not user.has_usable_password()
    assert [m.to for m in mail.outbox] == [["new@example.org"]]
    assert "/accounts/invitation/" in mail.outbox[0].body
    change = client.get(f"/admin/core/user/{user.pk}/change/").content.decode()
    assert "password/" not in change
    assert client.get(f"/admin/core/user/{user.pk}/password/").status_code == 403
