"""The shell: home page by role, membership switch, audit journal, error pages, headers."""

import datetime
import re

import pytest
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.test import Client
from django.urls import resolve
from django.utils import timezone

from lien.core import audit
from lien.core.models import AuditAction, AuditEvent, Membership, Role
from tests.factories import StructureFactory, UserFactory, make_membership

pytestmark = pytest.mark.django_db


# --- Home page ---------------------------------------------------------------------------


def test_anonymous_home_redirects_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/accounts/login/"


def test_account_without_membership_is_told_it_is_not_attached(client):
    user = UserFactory(email="nouvelle@example.org")
    client.force_login(user, backend="lien.core.auth.EmailBackend")
    response = client.get("/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Votre compte n'est pas encore rattaché" in body
    assert "nouvelle@example.org" in body
    assert "Ce que vous pouvez faire" not in body


# One sentence only this role's home page says, and one it must not say.
ROLE_TEXTS = {
    Role.MEDIATOR: ("Saisir une intervention", "Planifier les tournées"),
    Role.COORDINATOR: ("Planifier les tournées et permanences", "Saisir une intervention"),
    Role.FUNDER: ("Indicateurs de ce que vous financez", "Planifier les tournées"),
    Role.PARTNER: ("Répondre aux orientations", "Indicateurs de ce que vous financez"),
    Role.STEERING: ("Observatoire des emplois", "Répondre aux orientations"),
    Role.ADMIN: ("Comptes et rattachements", "Observatoire des emplois"),
}


@pytest.mark.parametrize("role", list(ROLE_TEXTS))
def test_each_role_sees_its_own_home_page(client, territories, login, role):
    membership = make_membership(role)
    login(membership)
    response = client.get("/")
    body = response.content.decode()
    own, other = ROLE_TEXTS[role]
    assert response.status_code == 200
    assert own in body
    assert other not in body
    assert "Ce que vous pouvez faire dans Lien" in body
    # The scope the user acts in is shown (structure, organisation or territory name).
    assert membership.scope_label in body
    assert str(membership.get_role_display()) in body


def test_steering_home_says_it_never_shows_nominative_data(client, territories, login):
    login(make_membership(Role.STEERING))
    assert "jamais de données nominatives" in client.get("/").content.decode()


def test_cards_link_only_to_features_that_exist(client, territories, login):
    membership = make_membership(Role.COORDINATOR)
    login(membership)
    body = client.get("/").content.decode()
    assert '<h3><a href="/ma-structure/">Ma structure</a></h3>' in body
    assert '<h3><a href="/journal/">Journal d&#x27;audit</a></h3>' in body
    assert '<h3><a href="/rapports/">Bilan d&#x27;activité</a></h3>' in body
    # No dead link: every link of the page leads to a registered route.
    for href in re.findall(r'href="(/[^"#]*)"', body):
        if not href.startswith("/static/"):
            resolve(href)


def test_navigation_marks_the_current_page(client, territories, login):
    login(make_membership(Role.ADMIN))
    body = client.get("/journal/").content.decode()
    assert body.count('aria-current="page"') == 2  # the wide menu and the phone menu
    assert '<a href="/journal/" aria-current="page">Journal d&#x27;audit</a>' in body
    assert '<a href="/" aria-current="page">' not in body


def test_navigation_depends_on_the_role(client, territories, login):
    login(make_membership(Role.MEDIATOR))
    body = client.get("/").content.decode()
    assert 'href="/journal/"' not in body
    assert 'href="/admin/"' not in body


def test_base_layout_is_accessible_french_and_without_inline_code(client, territories, login):
    login(make_membership(Role.COORDINATOR))
    body = client.get("/").content.decode()
    assert '<html lang="fr">' in body
    assert '<a class="skip-link" href="#contenu">Aller au contenu</a>' in body
    assert '<main id="contenu"' in body
    assert 'name="viewport"' in body
    assert "style=" not in body
    assert "<style" not in body
    assert not re.search(r"<script(?![^>]*\bsrc=)", body), "inline script"
    assert not re.search(r"\son[a-z]+=", body), "inline event handler"


# --- Membership switch ---------------------------------------------------------------------


@pytest.fixture
def two_hats(territories):
    """One person coordinating structure A and mediating in structure B."""
    coordinator = make_membership(Role.COORDINATOR, structure=StructureFactory(name="Alpha"))
    mediator = make_membership(
        Role.MEDIATOR, structure=StructureFactory(name="Bêta"), user=coordinator.user
    )
    return coordinator, mediator


def test_switcher_is_shown_only_to_users_with_several_memberships(client, two_hats, login):
    coordinator, mediator = two_hats
    login(coordinator)
    body = client.get("/").content.decode()
    assert 'action="/accounts/rattachement/"' in body
    assert f'value="{coordinator.pk}" checked' in body
    assert f'value="{mediator.pk}"' in body

    single = Client()
    single.force_login(make_membership(Role.MEDIATOR).user)
    assert 'action="/accounts/rattachement/"' not in single.get("/").content.decode()


def test_switching_to_an_own_membership_changes_the_role_and_is_journaled(client, two_hats, login):
    coordinator, mediator = two_hats
    login(coordinator)
    response = client.post("/accounts/rattachement/", {"membership": str(mediator.pk)})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.session["lien_membership_id"] == str(mediator.pk)
    home = client.get("/").content.decode()
    assert "Saisir une intervention" in home
    assert "Vous agissez maintenant en tant que" in home
    event = AuditEvent.objects.get(action=AuditAction.SWITCH)
    assert event.actor_id == coordinator.user.pk
    assert event.actor_role == Role.MEDIATOR
    assert event.structure_id == mediator.structure_id
    assert "Alpha" in event.note
    # The journal page is a coordinator's: the new (mediator) membership may not open it.
    assert client.get("/journal/").status_code == 403


def test_switching_to_another_users_membership_is_refused(client, two_hats, login):
    coordinator, _ = two_hats
    stranger = make_membership(Role.ADMIN)
    login(coordinator)
    response = client.post("/accounts/rattachement/", {"membership": str(stranger.pk)})
    assert response.status_code == 400
    assert "n&#x27;est pas le vôtre" in response.content.decode()
    assert client.session["lien_membership_id"] == str(coordinator.pk)
    assert not AuditEvent.objects.filter(action=AuditAction.SWITCH).exists()


def test_switching_to_an_inactive_membership_is_refused(client, two_hats, login):
    coordinator, mediator = two_hats
    Membership.objects.filter(pk=mediator.pk).update(is_active=False)
    login(coordinator)
    response = client.post("/accounts/rattachement/", {"membership": str(mediator.pk)})
    assert response.status_code == 400


@pytest.mark.parametrize("garbage", ["", "pas-un-uuid", "1' OR '1'='1", "0" * 200])
def test_switching_with_a_garbage_id_is_a_400_never_a_500(client, two_hats, login, garbage):
    login(two_hats[0])
    response = client.post("/accounts/rattachement/", {"membership": garbage})
    assert response.status_code == 400
    assert "Demande incorrecte" in response.content.decode()


def test_switch_is_post_only_and_needs_a_signed_in_user(client, two_hats):
    assert Client().post("/accounts/rattachement/", {"membership": "x"}).status_code == 302
    client.force_login(two_hats[0].user)
    assert client.get("/accounts/rattachement/").status_code == 405


# --- Audit journal -----------------------------------------------------------------------


@pytest.fixture
def journals(territories):
    structure_a = StructureFactory(name="Structure Alpha")
    structure_b = StructureFactory(name="Structure Bêta")
    for structure, label in ((structure_a, "alpha"), (structure_b, "beta")):
        audit.record(action=AuditAction.UPDATE, structure_id=structure.pk, note=f"note-{label}")
    audit.record(action=AuditAction.LOAD, note="note-plateforme")
    return structure_a, structure_b


def test_coordinator_sees_only_their_structures_journal(client, journals, login):
    structure_a, _ = journals
    login(make_membership(Role.COORDINATOR, structure=structure_a))
    response = client.get("/journal/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "note-alpha" in body
    assert "note-beta" not in body
    assert "note-plateforme" not in body
    assert "<caption" in body
    assert '<th scope="col">Action</th>' in body
    assert "Adresse IP" not in body


def test_admin_sees_every_event(client, journals, login):
    login(make_membership(Role.ADMIN))
    body = client.get("/journal/").content.decode()
    assert {"note-alpha", "note-beta", "note-plateforme"} <= set(re.findall(r"note-[a-z]+", body))
    assert "Adresse IP" in body


@pytest.mark.parametrize("role", [Role.MEDIATOR, Role.FUNDER, Role.PARTNER, Role.STEERING])
def test_other_roles_may_not_open_the_journal(client, journals, login, role):
    login(make_membership(role))
    response = client.get("/journal/")
    assert response.status_code == 403
    assert "Accès refusé" in response.content.decode()
    assert "note-alpha" not in response.content.decode()


def test_journal_needs_a_signed_in_user(client):
    response = client.get("/journal/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/accounts/login/")


def test_journal_filters_by_action_and_dates(client, journals, login):
    login(make_membership(Role.ADMIN))
    body = client.get("/journal/", {"action": "load"}).content.decode()
    assert "note-plateforme" in body
    assert "note-alpha" not in body

    today = timezone.localdate()
    future = (today + datetime.timedelta(days=3)).isoformat()
    empty = client.get("/journal/", {"start": future}).content.decode()
    assert "Aucun événement ne correspond" in empty
    both_ends = client.get(
        "/journal/", {"start": today.isoformat(), "end": today.isoformat()}
    ).content.decode()
    assert "note-alpha" in both_ends
    yesterday = (today - datetime.timedelta(days=1)).isoformat()
    before = client.get("/journal/", {"end": yesterday}).content.decode()
    assert "note-alpha" not in before


@pytest.mark.parametrize(
    "params",
    [
        {"start": "pas-une-date"},
        {"start": "2026-02-31"},
        {"action": "inconnue"},
        {"start": "2026-05-02", "end": "2026-05-01"},
        {"page": "abc"},
        {"page": "99999"},
    ],
)
def test_journal_bad_filters_are_reported_not_a_500(client, journals, login, params):
    login(make_membership(Role.ADMIN))
    response = client.get("/journal/", params)
    assert response.status_code == 200


def test_journal_reports_an_inverted_date_range(client, journals, login):
    login(make_membership(Role.ADMIN))
    body = client.get("/journal/", {"start": "2026-05-02", "end": "2026-05-01"}).content.decode()
    assert "La date de fin doit être postérieure à la date de début" in body


def test_journal_is_paginated_by_fifty_and_keeps_filters(
    client, journals, login, django_assert_max_num_queries
):
    structure_a, _ = journals
    for n in range(60):
        audit.record(action=AuditAction.CREATE, structure_id=structure_a.pk, note=f"n{n}")
    login(make_membership(Role.COORDINATOR, structure=structure_a))
    with django_assert_max_num_queries(8):
        first = client.get("/journal/", {"action": "create"}).content.decode()
    assert first.count("<tr>") == 51  # header row + 50
    assert "page=2" in first
    assert "action=create&amp;page=2" in first
    second = client.get("/journal/", {"action": "create", "page": "2"}).content.decode()
    assert second.count("<tr>") == 11


def test_journal_events_show_the_role_label(client, journals, login):
    structure_a, _ = journals
    coordinator = make_membership(Role.COORDINATOR, structure=structure_a)
    login(coordinator)
    body = client.get("/journal/", {"action": "login"}).content.decode()
    assert coordinator.user.email in body
    assert "Coordination de structure" in body


# --- Error pages and headers ---------------------------------------------------------------


def test_404_is_french_and_uses_the_layout(client, territories, login):
    login(make_membership(Role.MEDIATOR))
    response = client.get("/nulle-part/")
    body = response.content.decode()
    assert response.status_code == 404
    assert "Page introuvable" in body
    assert "Mon compte" in body


def test_500_page_renders_without_any_database_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        body = render_to_string("500.html")
    assert "Erreur du serveur" in body
    assert '<html lang="fr">' in body


def test_400_page_renders_without_a_request(client):
    body = render_to_string("400.html")
    assert "Demande incorrecte" in body


def test_csrf_failure_page_is_french(territories):
    csrf_client = Client(enforce_csrf_checks=True)
    response = csrf_client.post("/accounts/login/", {"username": "a@b.fr", "password": "x"})
    assert response.status_code == 403
    assert "Formulaire expiré" in response.content.decode()


def test_security_headers_are_present(client):
    response = client.get("/accounts/login/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    assert "'unsafe-eval'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "microphone=()" in response.headers["Permissions-Policy"]
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"


def test_static_shell_files_are_found():
    for path in ("vendor/pico/pico.min.css", "vendor/htmx/htmx.min.js", "lien/lien.css"):
        assert finders.find(path), path
