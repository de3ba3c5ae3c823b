"""The login flow: e-mail login, clear refusals, lockout, and their journal lines."""

import pytest
from django.test import Client

from lien.core.models import AuditAction, AuditEvent, Role
from tests.factories import UserFactory, make_membership

pytestmark = pytest.mark.django_db

PASSWORD = "un-mot-de-passe-long"
LOGIN_URL = "/accounts/login/"


def post_login(client, email, password=PASSWORD, **extra):
    return client.post(LOGIN_URL, {"username": email, "password": password, **extra})


def is_signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_login_page_is_french_labelled_and_autocompletes(client):
    response = client.get(LOGIN_URL)
    body = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="fr">' in body
    assert '<label for="id_username">Adresse e-mail' in body
    assert '<label for="id_password">Mot de passe' in body
    assert 'autocomplete="username"' in body
    assert 'autocomplete="current-password"' in body
    assert 'type="email"' in body


def test_login_with_email_is_case_insensitive(client, territories):
    membership = make_membership(Role.COORDINATOR)
    membership.user.email = "camille.martin@example.org"
    membership.user.save()
    response = post_login(client, "  Camille.MARTIN@Example.org ")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert is_signed_in(client)


def test_wrong_password_is_refused_with_a_clear_message(client):
    user = UserFactory()
    response = post_login(client, user.email, "pas-le-bon-mot-de-passe")
    body = response.content.decode()
    assert response.status_code == 200
    assert not is_signed_in(client)
    assert "Adresse e-mail ou mot de passe incorrect" in body
    assert 'role="alert"' in body
    assert "<title>Erreur : Connexion" in body


def test_unknown_address_gets_the_same_message_as_a_wrong_password(client):
    response = post_login(client, "personne-inconnue@example.org")
    assert "Adresse e-mail ou mot de passe incorrect" in response.content.decode()


def test_empty_fields_are_reported_on_each_field(client):
    response = client.post(LOGIN_URL, {"username": "", "password": ""})
    body = response.content.decode()
    assert response.status_code == 200
    assert 'aria-invalid="true"' in body
    assert 'aria-describedby="id_username_error"' in body
    assert 'id="id_username_error"' in body


def test_demo_account_is_refused_when_demo_logins_are_disabled(client, settings):
    settings.LIEN_DEMO_LOGINS_ENABLED = False
    UserFactory(email="coordination@demo.lien.test")
    response = post_login(client, "coordination@demo.lien.test")
    body = response.content.decode()
    assert response.status_code == 200
    assert not is_signed_in(client)
    assert "Les comptes de démonstration sont désactivés sur cette instance" in body
    assert "Instance de démonstration" not in body


def test_demo_account_is_accepted_when_demo_logins_are_enabled(client, settings):
    settings.LIEN_DEMO_LOGINS_ENABLED = True
    UserFactory(email="coordination@demo.lien.test")
    assert "Instance de démonstration" in client.get(LOGIN_URL).content.decode()
    response = post_login(client, "Coordination@demo.lien.test")
    assert response.status_code == 302
    assert is_signed_in(client)


def test_demo_message_does_not_replace_a_wrong_password_of_a_real_account(client, settings):
    settings.LIEN_DEMO_LOGINS_ENABLED = False
    user = UserFactory()
    response = post_login(client, user.email, "faux")
    assert "démonstration" not in response.content.decode()


def test_inactive_account_cannot_log_in(client):
    user = UserFactory(is_active=False)
    response = post_login(client, user.email)
    assert response.status_code == 200
    assert not is_signed_in(client)


def test_next_parameter_is_followed_only_within_the_site(client, territories):
    membership = make_membership(Role.COORDINATOR)
    inside = post_login(client, membership.user.email, next="/journal/")
    assert inside.headers["Location"] == "/journal/"
    other = Client()
    outside = post_login(other, membership.user.email, next="https://exemple.invalid/")
    assert outside.headers["Location"] == "/"


def test_signed_in_user_opening_login_goes_home(client, territories, login):
    login(make_membership(Role.MEDIATOR))
    assert client.get(LOGIN_URL).headers["Location"] == "/"


def test_five_failures_lock_the_account_with_a_clear_page(client):
    user = UserFactory()
    statuses = [post_login(client, user.email, f"faux-{n}").status_code for n in range(5)]
    assert statuses[:4] == [200, 200, 200, 200]
    # django-axes answers the attempt that reaches the limit, and every later one, with
    # its lockout template and HTTP 429.
    assert statuses[4] == 429
    locked = post_login(client, user.email)  # even the right password
    body = locked.content.decode()
    assert locked.status_code == 429
    assert not is_signed_in(client)
    assert "Compte temporairement bloqué" in body
    assert "Après 5 tentatives de connexion échouées" in body
    assert "Vous pourrez réessayer dans 30 minutes" in body
    assert '<html lang="fr">' in body


def test_lockout_counts_an_address_whatever_its_capitalisation(client):
    user = UserFactory()
    spellings = [user.email, user.email.upper(), user.email.title(), user.email, user.email]
    responses = [post_login(client, email, "faux") for email in spellings]
    assert responses[-1].status_code == 429


def test_lockout_of_one_account_does_not_block_another(client):
    locked, other = UserFactory(), UserFactory()
    for n in range(5):
        post_login(client, locked.email, f"faux-{n}")
    assert post_login(client, other.email).status_code == 302


def test_login_logout_and_failure_are_journaled_without_the_password(client, territories):
    membership = make_membership(Role.COORDINATOR)
    email = membership.user.email
    post_login(client, email, "secret-tape-par-erreur")
    failed = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED)
    assert failed.note == email
    assert failed.actor_id is None
    assert failed.ip_address == "127.0.0.1"

    post_login(client, email)
    signed_in = AuditEvent.objects.get(action=AuditAction.LOGIN)
    assert (signed_in.actor_id, signed_in.actor_email) == (membership.user.pk, email)
    assert signed_in.actor_role == Role.COORDINATOR
    assert signed_in.structure_id == membership.structure_id

    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response.headers["Location"] == LOGIN_URL
    assert not is_signed_in(client)
    signed_out = AuditEvent.objects.get(action=AuditAction.LOGOUT)
    assert (signed_out.actor_id, signed_out.structure_id) == (
        membership.user.pk,
        membership.structure_id,
    )

    for event in AuditEvent.objects.all():
        assert "secret-tape-par-erreur" not in str(
            [event.note, event.before, event.after, event.object_repr]
        )
    assert "Vous êtes déconnecté·e" in client.get(LOGIN_URL).content.decode()


def test_an_overlong_address_is_a_field_error_not_a_500(client):
    # django-axes keeps the typed username in a 255-character column (PostgreSQL enforces it).
    response = post_login(client, "x" * 400 + "@example.org")
    assert response.status_code == 200
    assert 'aria-describedby="id_username_error"' in response.content.decode()
    assert not is_signed_in(client)


def test_failed_login_journals_the_longest_possible_address(client):
    email = "x" * 241 + "@example.org"
    assert len(email) == 253
    post_login(client, email)
    assert AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED).note == email


def test_logout_is_post_only(client, territories, login):
    login(make_membership(Role.MEDIATOR))
    assert client.get("/accounts/logout/").status_code == 405
    assert is_signed_in(client)


def test_logout_form_is_in_every_page_for_a_signed_in_user(client, territories, login):
    login(make_membership(Role.MEDIATOR))
    body = client.get("/").content.decode()
    assert 'action="/accounts/logout/"' in body
    assert "Se déconnecter" in body
