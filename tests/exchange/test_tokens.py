"""Personal API tokens: created on /api/jetons/ (shown once, stored hashed), journaled,
revocable, and refused as soon as they are revoked or expired or their membership ends."""

import datetime
import hashlib
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from lien.core.models import AuditAction, AuditEvent, Role
from lien.exchange import services
from lien.exchange.models import ApiToken
from tests.exchange.conftest import assert_error_shape
from tests.factories import make_membership

pytestmark = pytest.mark.django_db

ME = "/api/moi/"


def _secret_in(html: str) -> str:
    found = re.search(r'id="new-token" type="text" value="([^"]+)"', html)
    assert found, "le jeton créé n'est pas affiché"
    return found.group(1)


def test_the_page_creates_a_token_shown_once_and_stored_hashed(world, login, client):
    coordinator = world["m"]["coordinator"]
    login(coordinator)
    page = client.get("/api/jetons/")
    assert page.status_code == 200
    assert "Aucun jeton" in page.content.decode()

    response = client.post(
        "/api/jetons/",
        {"name": "Logiciel RH", "membership": coordinator.pk, "scope": "write", "expires_in": "30"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    secret = _secret_in(html)
    assert "ne sera plus jamais affiché" in html
    token = ApiToken.objects.get()
    assert (token.user, token.membership, token.scope) == (coordinator.user, coordinator, "write")
    assert token.key_prefix == secret[:8]
    assert token.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {token.key_hash, token.name, token.key_prefix}
    assert token.expires_at - timezone.now() > datetime.timedelta(days=29)
    # Shown once: the list shows the prefix, never the secret again.
    again = client.get("/api/jetons/").content.decode()
    assert secret not in again
    assert f"{token.key_prefix}…" in again and "Logiciel RH" in again
    # Journaled as an account-security event in the structure's journal.
    event = AuditEvent.objects.get(action=AuditAction.SECURITY, object_id=str(token.pk))
    assert event.structure_id == coordinator.structure_id
    assert "jeton d'API créé" in event.note and secret not in str(event.after or "")
    # The secret works.
    answer = client.get(ME, headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200
    assert answer.json()["membership"]["id"] == str(coordinator.pk)


def test_the_page_refuses_bad_input_with_field_errors(world, login, client):
    funder = world["m"]["funder"]
    other = world["m"]["coordinator"]
    login(funder)
    cases = [
        ({"name": "", "membership": funder.pk, "scope": "read"}, "name"),
        ({"name": "x" * 101, "membership": funder.pk, "scope": "read"}, "name"),
        ({"name": "Ok", "membership": other.pk, "scope": "read"}, "membership"),
        ({"name": "Ok", "membership": "pas-un-uuid", "scope": "read"}, "membership"),
        ({"name": "Ok", "membership": funder.pk, "scope": "admin"}, "scope"),
        ({"name": "Ok", "membership": funder.pk, "scope": "read", "expires_in": "9"}, "expires_in"),
        ({"name": "a\x00b", "membership": funder.pk, "scope": "read"}, "name"),
    ]
    for data, field in cases:
        response = client.post("/api/jetons/", data)
        assert response.status_code == 200, data
        assert field in response.context["form"].errors, (data, response.context["form"].errors)
    assert not ApiToken.objects.exists()


def test_the_page_needs_a_login(client):
    response = client.get("/api/jetons/")
    assert response.status_code == 302 and "login" in response["Location"]


def test_revoking_ends_access_at_once(world, login, client, token_for):
    mediator = world["m"]["mediator"]
    secret = token_for(mediator)
    token = ApiToken.objects.get()
    assert client.get(ME, headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    login(mediator)
    response = client.post(f"/api/jetons/{token.pk}/revoquer/")
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    body = assert_error_shape(client.get(ME, headers={"Authorization": f"Bearer {secret}"}), 401)
    assert "révoqué" in body["detail"]
    assert AuditEvent.objects.filter(note__startswith="jeton d'API révoqué").count() == 1
    # Revoking twice changes nothing; GET does not revoke.
    client.post(f"/api/jetons/{token.pk}/revoquer/")
    assert AuditEvent.objects.filter(note__startswith="jeton d'API révoqué").count() == 1
    assert client.get(f"/api/jetons/{token.pk}/revoquer/").status_code == 405


def test_nobody_revokes_someone_elses_token(world, login, client, token_for):
    token_for(world["m"]["mediator"])
    token = ApiToken.objects.get()
    login(world["m"]["coordinator"])  # same structure, another person
    assert client.post(f"/api/jetons/{token.pk}/revoquer/").status_code == 404
    with pytest.raises(PermissionDenied):
        services.token_revoke(user=world["m"]["coordinator"].user, token=token)
    token.refresh_from_db()
    assert token.revoked_at is None


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "Authentification requise"),
        ("Basic dXNlcjpwYXNz", "Schéma"),
        ("Bearer", "Schéma"),
        ("Bearer pas-un-jeton", "Jeton inconnu"),
        ("Bearer " + "x" * 5000, "Jeton inconnu"),
        ("Bearer \u00e9t\u00e9\x7f", "Jeton inconnu"),
    ],
)
def test_missing_or_unknown_tokens_get_401(world, client, header, reason):
    headers = {"Authorization": header} if header else {}
    response = client.get(ME, headers=headers)
    body = assert_error_shape(response, 401)
    assert reason in body["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_expired_token_is_refused(world, client, token_for):
    secret = token_for(world["m"]["mediator"])
    ApiToken.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    body = assert_error_shape(client.get(ME, headers={"Authorization": f"Bearer {secret}"}), 401)
    assert "expiré" in body["detail"]


def test_a_token_cannot_be_created_already_expired(world):
    mediator = world["m"]["mediator"]
    with pytest.raises(ValidationError):
        services.token_create(
            user=mediator.user,
            membership=mediator,
            name="x",
            scope="read",
            expires_at=timezone.now() - datetime.timedelta(days=1),
        )


def test_a_deactivated_membership_or_account_ends_the_token(world, client, token_for, login):
    mediator = world["m"]["mediator"]
    secret = token_for(mediator)
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get(ME, headers=headers).status_code == 200
    mediator.is_active = False
    mediator.save()
    body = assert_error_shape(client.get(ME, headers=headers), 401)
    assert "rattachement" in body["detail"]
    login(mediator)
    assert "sans effet (rattachement retiré)" in client.get("/api/jetons/").content.decode()
    client.logout()
    mediator.is_active = True
    mediator.save()
    mediator.user.is_active = False
    mediator.user.save()
    assert_error_shape(client.get(ME, headers=headers), 401)


def test_a_read_token_is_refused_on_writes(world, api):
    client = api(world["m"]["mediator"], "read")
    for path, body in (("/api/interventions/", {}), ("/api/interventions/sync/", {"entries": []})):
        answer = assert_error_shape(client.post(path, body), 403)
        assert "lecture seule" in answer["detail"]


def test_steering_and_administration_get_no_write_token(world):
    for key in ("steering", "admin"):
        membership = world["m"][key]
        with pytest.raises(ValidationError):
            services.token_create(
                user=membership.user, membership=membership, name="x", scope="write"
            )


def test_a_token_is_created_only_for_ones_own_active_membership(world):
    mediator, coordinator = world["m"]["mediator"], world["m"]["coordinator"]
    with pytest.raises(PermissionDenied):
        services.token_create(user=mediator.user, membership=coordinator, name="x", scope="read")
    inactive = make_membership(Role.MEDIATOR, structure=world["a"], user=mediator.user)
    inactive.is_active = False
    inactive.save()
    with pytest.raises(PermissionDenied):
        services.token_create(user=mediator.user, membership=inactive, name="x", scope="read")


def test_a_token_acts_as_its_membership_not_the_sessions(world, client, login, token_for):
    """A person with two memberships: the token's, whatever the session has chosen."""
    mediator = world["m"]["mediator"]
    funder_too = make_membership(Role.FUNDER, organisation=world["funder_a"], user=mediator.user)
    secret = token_for(funder_too)
    login(mediator)  # the session acts as the mediator
    answer = client.get(ME, headers={"Authorization": f"Bearer {secret}"}).json()
    assert answer["membership"]["role"] == "funder"
    interventions = client.get("/api/interventions/", headers={"Authorization": f"Bearer {secret}"})
    assert_error_shape(interventions, 403)


def test_the_session_is_not_accepted_on_the_api(world, client, login):
    login(world["m"]["coordinator"])
    assert client.get("/api/jetons/").status_code == 200  # the page, yes
    for path in (ME, "/api/interventions/", "/api/structures/"):
        assert_error_shape(client.get(path), 401)
    assert_error_shape(client.post("/api/interventions/", {}, content_type="application/json"), 401)


def test_last_use_is_written_at_most_once_a_minute(
    world, client, token_for, django_assert_num_queries
):
    secret = token_for(world["m"]["mediator"])
    headers = {"Authorization": f"Bearer {secret}"}
    client.get(ME, headers=headers)
    first = ApiToken.objects.get().last_used_at
    assert first is not None
    # Within the minute: the lookup only, no write.
    with django_assert_num_queries(1):
        client.get(ME, headers=headers)
    assert ApiToken.objects.get().last_used_at == first
    ApiToken.objects.update(last_used_at=first - datetime.timedelta(minutes=2))
    client.get(ME, headers=headers)
    assert ApiToken.objects.get().last_used_at > first


def test_a_person_keeps_a_bounded_number_of_tokens(world, token_for):
    mediator = world["m"]["mediator"]
    for _ in range(services.MAX_ACTIVE_TOKENS):
        token_for(mediator)
    with pytest.raises(ValidationError):
        token_for(mediator)
