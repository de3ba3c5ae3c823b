"""The field logbook on a 360 px phone: quick entry, offline outbox, sync, conflicts.

Playwright drives Debian's Chromium (fixtures in tests/browser/conftest.py) against
`live_server`; the network is cut with `context.set_offline(True)`.
"""

import datetime
import json
import time

import pytest
from django.core.signals import request_started
from django.db import OperationalError
from django.utils import timezone
from playwright.sync_api import expect

from lien.core.models import Role
from lien.core.screening import screen
from lien.logbook import services
from lien.logbook.forms import InterventionForm
from lien.logbook.models import Intervention
from lien.referentiel.services import referentiel_load
from tests.browser.conftest import (
    ARTIFACTS,
    PHONE,
    close_quietly,
    format_violations,
    run_axe,
    screenshot,
)
from tests.factories import ServiceFactory, make_membership, make_territories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "un-mot-de-passe-long"
ENTRY = "/journal-de-bord/saisir/"
OUTBOX = "/journal-de-bord/envois/"
WAIT = 10_000


@pytest.fixture
def team(transactional_db):
    """A structure with one service in the MEL, two mediators and a coordinator."""
    territories = make_territories()
    referentiel_load()
    service = ServiceFactory(name="Médiation de proximité")
    service.territories.set([territories["mel"]])
    structure = service.structure
    return {
        "structure": structure,
        "service": service,
        "mediator": make_membership(Role.MEDIATOR, structure=structure),
        "partner": make_membership(Role.MEDIATOR, structure=structure),
        "coordinator": make_membership(Role.COORDINATOR, structure=structure),
    }


@pytest.fixture
def context(browser):
    """A phone-sized browsing context (its own IndexedDB and service worker)."""
    context = browser.new_context(
        viewport=PHONE, locale="fr-FR", timezone_id="Europe/Paris", device_scale_factor=2
    )
    yield context
    close_quietly(context)


@pytest.fixture
def page(context):
    """A page of `context` that fails the test on any CSP violation or script error."""
    page = context.new_page()
    problems: list[str] = []

    def on_console(message):
        if message.type == "error" and "Content Security Policy" in message.text:
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"JS: {error}"))
    yield page
    assert not problems, "\n".join(problems)


@pytest.fixture
def server_hits():
    """The paths the live server is asked for, from when the test clears the list."""
    paths: list[str] = []

    def record(sender, environ, **kwargs):
        paths.append(environ["PATH_INFO"])

    request_started.connect(record, weak=False)
    yield paths
    request_started.disconnect(record)


def log_in(page, live_server, membership):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Adresse e-mail").fill(membership.user.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{live_server.url}/")


def open_entry_page(page, live_server, path=ENTRY):
    page.goto(f"{live_server.url}{path}")
    # The page's script is ready once it has written the connection status.
    expect(page.locator("#connection-status")).not_to_be_empty(timeout=WAIT)


def fill_entry(page, *, activity="Gestion de conflits", people=2, note=""):
    page.get_by_label(activity, exact=True).check()
    page.get_by_label("Commune").select_option("59512")
    if activity == "Gestion de conflits":
        page.get_by_label("Temps réel").check()
    page.get_by_label("Personnes rencontrées").fill(str(people))
    page.get_by_label("Remarque (facultative, sans nom)").fill(note)


def submit(page):
    page.get_by_role("button", name="Enregistrer").click()


def outbox_records(page) -> list[dict]:
    return page.evaluate("window.LienOutbox.outbox.all()")


def screenshot_part(locator, name):
    """A closer look than the full page: one element, at the phone's pixel ratio."""
    ARTIFACTS.mkdir(exist_ok=True)
    locator.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def assert_no_horizontal_scroll(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"la page déborde : {width} px pour un écran de 360 px"


def assert_accessible(page):
    violations = run_axe(page)
    assert not violations, format_violations(violations)


def server_edit(intervention, actor, **changes):
    """Someone changes the entry on the server (through the write path)."""
    payload = services.intervention_payload(intervention) | changes
    form = InterventionForm.from_payload(
        payload, structure=intervention.structure, author=intervention.author
    )
    assert form.is_valid(), form.errors
    return services.intervention_update(
        actor=actor,
        intervention=intervention,
        data=form.intervention_data(),
        base_version=intervention.version,
    )


def test_quick_entry_online_shows_only_the_fields_of_the_activity(live_server, page, team):
    log_in(page, live_server, team["mediator"])
    open_entry_page(page, live_server)
    timing = page.locator('[data-entry-field="timing"]')
    requests = page.locator('[data-entry-field="access_requests"]')

    page.get_by_label("Présence active de proximité", exact=True).check()
    expect(timing).to_be_hidden()
    expect(requests).to_be_hidden()
    assert page.locator('input[name="timing"]').first.is_disabled()
    expect(page.get_by_label("Relais d'urgence")).to_be_visible()

    page.get_by_label("Mise en relation avec un partenaire", exact=True).check()
    expect(requests).to_be_visible()
    expect(page.get_by_label("Relais d'urgence")).to_be_hidden()

    page.get_by_label("Gestion de conflits", exact=True).check()
    expect(timing).to_be_visible()
    expect(requests).to_be_hidden()
    fill_entry(page, people=3)
    # The start time is filled in with the phone's current time.
    started = page.get_by_label("Date et heure", exact=True).input_value()
    assert started[:10] == timezone.localdate().isoformat()
    assert_no_horizontal_scroll(page)
    screenshot(page, "logbook-entry-360")
    assert_accessible(page)

    submit(page)
    expect(page.locator("#entry-notice")).to_contain_text("Intervention enregistrée", timeout=WAIT)
    intervention = Intervention.objects.get()
    assert intervention.activity_type.code == "gestion-conflits"
    assert intervention.timing == "real_time"
    assert intervention.people_met == 3
    assert intervention.commune.code == "59512"
    assert intervention.author == team["mediator"].user
    assert abs(timezone.now() - intervention.started_at) < datetime.timedelta(minutes=2)
    [record] = outbox_records(page)
    assert record["id"] == str(intervention.pk)
    assert record["status"] == "sent"

    # Ready for the next one: same place and activity, the rest starts over.
    assert page.get_by_label("Commune").input_value() == "59512"
    assert page.get_by_label("Gestion de conflits", exact=True).is_checked()
    assert not page.get_by_label("Temps réel").is_checked()
    assert page.get_by_label("Personnes rencontrées").input_value() == "1"
    assert_no_horizontal_scroll(page)
    screenshot(page, "logbook-entry-next-360")
    page.screenshot(path=str(ARTIFACTS / "logbook-entry-next-viewport-360.png"))


def test_offline_entries_wait_in_the_outbox_and_sync_when_the_network_returns(
    live_server, page, context, team, server_hits
):
    log_in(page, live_server, team["mediator"])
    open_entry_page(page, live_server)
    # The service worker has cached the field pages before the network goes.
    assert page.evaluate("navigator.serviceWorker.ready.then(r => Boolean(r.active))")
    page.wait_for_function(
        "caches.match('/journal-de-bord/envois/').then(r => Boolean(r))", timeout=WAIT
    )

    context.set_offline(True)
    server_hits.clear()
    for people in (4, 5, 6):
        fill_entry(page, people=people)
        submit(page)
        expect(page.locator("#entry-notice")).to_contain_text(
            "Enregistrée sur ce téléphone, envoi dès que le réseau revient", timeout=WAIT
        )
    status = page.locator("#connection-status")
    expect(status).to_contain_text("Hors ligne")
    expect(status).to_contain_text("3 saisies en attente d'envoi")
    assert Intervention.objects.count() == 0

    # The outbox page opens without network (from the service worker's cache).
    page.get_by_role("link", name="Voir les envois").first.click()
    page.wait_for_url(f"{live_server.url}{OUTBOX}")
    items = page.locator(".outbox-item")
    expect(items).to_have_count(3, timeout=WAIT)
    expect(page.locator(".outbox-item.status-pending")).to_have_count(3)
    expect(items.first).to_contain_text("En attente d'envoi")
    expect(items.first).to_contain_text("Gestion de conflits")

    # An unsent entry can be deleted, after a confirmation.
    last = items.last
    last.get_by_role("button", name="Supprimer").click()
    confirm = last.get_by_role("group", name="Confirmer la suppression")
    expect(confirm).to_be_visible()
    confirm.get_by_role("button", name="Oui, supprimer").click()
    expect(items).to_have_count(2, timeout=WAIT)
    assert_no_horizontal_scroll(page)
    screenshot(page, "logbook-outbox-offline-360")
    kept = {r["id"]: r["data"]["people_met"] for r in outbox_records(page)}
    assert len(kept) == 2
    assert Intervention.objects.count() == 0
    # Offline for real: the pages came from the service worker's cache, nothing from here
    # (but the browser's own update check of /sw.js, which the emulation lets through).
    assert [path for path in server_hits if path != "/sw.js"] == []

    # Back online: the outbox empties itself, nobody touches anything.
    context.set_offline(False)
    expect(page.locator(".outbox-item.status-sent")).to_have_count(2, timeout=WAIT)
    expect(page.locator("#connection-status")).not_to_contain_text("en attente")
    stored = {
        str(pk): people for pk, people in Intervention.objects.values_list("pk", "people_met")
    }
    assert stored == kept
    assert set(Intervention.objects.values_list("source", flat=True)) == {"offline"}
    assert_accessible(page)
    screenshot(page, "logbook-outbox-synced-360")

    # Sent again (a lost answer, a second tab): still two interventions.
    page.evaluate(
        """async () => {
            for (const r of await LienOutbox.outbox.all()) {
                r.status = "pending";
                await LienOutbox.outbox.put(r);
            }
            await LienOutbox.sync();
        }"""
    )
    expect(page.locator(".outbox-item.status-sent")).to_have_count(2, timeout=WAIT)
    assert Intervention.objects.count() == 2


def test_an_offline_edit_of_an_entry_changed_meanwhile_is_a_conflict(live_server, page, team):
    log_in(page, live_server, team["mediator"])
    open_entry_page(page, live_server)
    fill_entry(page, people=2)
    submit(page)
    expect(page.locator("#entry-notice")).to_contain_text("enregistrée", timeout=WAIT)
    intervention = Intervention.objects.get()
    assert intervention.version == 1

    # The mediator opens the correction page; the coordinator changes the entry meanwhile.
    open_entry_page(page, live_server, f"/journal-de-bord/{intervention.pk}/corriger/")
    server_edit(intervention, team["coordinator"], people_met=5)
    intervention.refresh_from_db()
    assert intervention.version == 2

    page.get_by_label("Personnes rencontrées").fill("3")
    submit(page)
    notice = page.locator("#entry-notice")
    expect(notice).to_contain_text("modifiée sur le serveur", timeout=WAIT)
    intervention.refresh_from_db()
    assert (intervention.people_met, intervention.version) == (5, 2)  # nothing overwritten

    notice.get_by_role("link", name="Résoudre le conflit").click()
    page.wait_for_url(f"{live_server.url}{OUTBOX}")
    item = page.locator(".outbox-item.status-conflict")
    expect(item).to_be_visible(timeout=WAIT)
    expect(item).to_contain_text("Conflit à résoudre")
    row = item.locator("tr", has_text="Personnes rencontrées")
    expect(row.locator("td").nth(0)).to_have_text("5")  # the server's value
    expect(row.locator("td").nth(1)).to_have_text("3")  # the mediator's edit
    expect(item.locator("th", has_text="Serveur (version 2)")).to_be_visible()
    assert_no_horizontal_scroll(page)
    screenshot(page, "logbook-outbox-conflict-360")
    assert_accessible(page)

    # The mediator reapplies their edit, on top of the server's version.
    item.get_by_role("button", name="Réappliquer ma modification").click()
    expect(page.locator(".outbox-item.status-sent")).to_have_count(1, timeout=WAIT)
    intervention.refresh_from_db()
    assert (intervention.people_met, intervention.version) == (3, 3)

    # Another conflict; this time the server's version is kept and the local edit dropped.
    open_entry_page(page, live_server, f"/journal-de-bord/{intervention.pk}/corriger/")
    server_edit(intervention, team["coordinator"], people_met=7)
    page.get_by_label("Personnes rencontrées").fill("8")
    submit(page)
    expect(page.locator("#entry-notice")).to_contain_text("modifiée sur le serveur", timeout=WAIT)
    page.goto(f"{live_server.url}{OUTBOX}")
    item = page.locator(".outbox-item.status-conflict")
    expect(item).to_be_visible(timeout=WAIT)
    item.get_by_role("button", name="Garder la version du serveur").click()
    expect(page.locator(".outbox-item.status-conflict")).to_have_count(0, timeout=WAIT)
    assert outbox_records(page) == []  # the same UUID: the entry itself is up to date
    intervention.refresh_from_db()
    assert (intervention.people_met, intervention.version) == (7, 4)


def test_a_refused_entry_is_fixed_in_place_and_keeps_its_uuid(live_server, page, team):
    log_in(page, live_server, team["mediator"])
    open_entry_page(page, live_server)
    fill_entry(page)
    # A start time in the future passes the page's checks but not the server's.
    page.locator("details.when > summary").click()
    tomorrow = timezone.localtime() + datetime.timedelta(days=2)
    page.get_by_label("Date et heure", exact=True).fill(tomorrow.strftime("%Y-%m-%dT%H:%M"))
    submit(page)
    error = page.locator("#id_started_at-errors")
    expect(error).to_contain_text("futur", timeout=WAIT)
    expect(page.get_by_role("alert").first).to_contain_text("Un champ est à corriger")
    [record] = outbox_records(page)
    assert record["status"] == "invalid"
    assert Intervention.objects.count() == 0
    assert_no_horizontal_scroll(page)
    screenshot(page, "logbook-entry-invalid-360")

    page.get_by_label("Date et heure", exact=True).fill(
        timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    )
    submit(page)
    expect(page.locator("#entry-notice")).to_contain_text("enregistrée", timeout=WAIT)
    assert str(Intervention.objects.get().pk) == record["id"]


def test_required_fields_are_checked_before_anything_is_stored(live_server, page, team):
    log_in(page, live_server, team["mediator"])
    open_entry_page(page, live_server)
    submit(page)
    expect(page.locator("#id_activity_type_0-errors")).to_have_text("Ce champ est obligatoire.")
    expect(page.locator("#id_commune-errors")).to_have_text("Ce champ est obligatoire.")
    assert outbox_records(page) == []


def test_the_note_is_screened_as_it_is_typed(live_server, page, team):
    log_in(page, live_server, team["mediator"])
    open_entry_page(page, live_server)
    confirm = page.locator("#note-confirm")
    expect(confirm).to_be_hidden()
    fill_entry(page)
    page.get_by_label("Remarque (facultative, sans nom)").press_sequentially(
        "Mme Durand malade, rappeler au 06 12 34 56 78", delay=5
    )
    warnings = page.locator("#note-warnings")
    expect(warnings).to_contain_text("un numéro de téléphone", timeout=WAIT)
    expect(warnings).to_contain_text("un nom de personne")
    expect(warnings).to_contain_text("une information de santé")
    expect(confirm).to_be_visible()
    assert warnings.get_attribute("aria-live") == "polite"
    screenshot(page, "logbook-note-warnings-360")
    screenshot_part(page.locator(".note-field"), "logbook-note-field-360")

    # Not confirmed: stopped on the phone, nothing stored.
    submit(page)
    expect(page.locator("#id_note-errors")).to_contain_text("Reformulez")
    assert outbox_records(page) == []

    # Rephrased: the warnings go away with the confirmation box.
    page.get_by_label("Remarque (facultative, sans nom)").fill("Échange calme dans le hall")
    expect(warnings).to_be_empty(timeout=WAIT)
    expect(confirm).to_be_hidden()

    # Kept on purpose: confirmed, then sent and recorded with its warnings.
    page.get_by_label("Remarque (facultative, sans nom)").fill("Voisin malade, visite prévue")
    expect(confirm).to_be_visible(timeout=WAIT)
    page.get_by_label("Je confirme que cette remarque").check()
    submit(page)
    expect(page.locator("#entry-notice")).to_contain_text("enregistrée", timeout=WAIT)
    assert Intervention.objects.get().note_warnings == ["health"]


SAMPLES = [
    "Appeler Mme Dupont au 06 12 34 56 78",
    "écrire à jean.dupont@exemple.fr",
    "NIR 1 85 05 59 350 123 45",
    "Il est malade et musulman",
    "grâce à la médiation",
    "propos racistes",
    "M. Élie est passé",
    "monsieur dupont",
    "+33 6 12 34 56 78 puis 0033612345678",
    "tél : 03.20.12.34.56",
    "le vol de vélo",
    "Garde à vue la veille",
    "famille sans-papiers",
    "Dr House et Maître Gims",
    "Hôpital Nord",
    "gay pride, parti politique",
    "12345678901234567890",
    "Échange calme dans le hall, rien à signaler",
    "Rencontre avec Karima et son fils",
    "Jean-Pierre est passé au local",
    "devant le collège Victor Hugo, rue Jean Jaurès",
    "Pierre tombée du balcon",
    "Atelier à l'école Louise Michel avec AÏCHA",
]


def test_the_browser_screens_like_the_server(live_server, page, team):
    log_in(page, live_server, team["mediator"])
    open_entry_page(page, live_server)
    in_browser = page.evaluate(
        "texts => texts.map(t => LienScreening.screen(t).map(f => [f.category, f.excerpt]))",
        SAMPLES,
    )
    on_server = [[[f.category, f.excerpt] for f in screen(text)] for text in SAMPLES]
    assert json.loads(json.dumps(in_browser)) == on_server


def test_field_pages_keep_contrast_in_the_dark_scheme(live_server, browser, team):
    context = browser.new_context(
        viewport=PHONE, locale="fr-FR", timezone_id="Europe/Paris", color_scheme="dark"
    )
    page = context.new_page()
    try:
        log_in(page, live_server, team["mediator"])
        open_entry_page(page, live_server)
        fill_entry(page, note="Voisin malade")
        expect(page.locator("#note-confirm")).to_be_visible(timeout=WAIT)
        assert_accessible(page)
        page.get_by_label("Je confirme que cette remarque").check()
        context.set_offline(True)
        submit(page)
        expect(page.locator("#entry-notice")).to_contain_text("téléphone", timeout=WAIT)
        # A thumb resting on the button: its hover colour must keep the contrast too.
        page.get_by_role("button", name="Enregistrer").hover()
        assert_accessible(page)
        context.set_offline(False)
        page.goto(f"{live_server.url}{OUTBOX}")
        expect(page.locator(".outbox-item")).to_have_count(1, timeout=WAIT)
        page.get_by_role("button", name="Envoyer maintenant").hover()
        assert_accessible(page)
        screenshot(page, "logbook-outbox-dark-360")
    finally:
        context.close()


def test_a_batch_the_server_rejects_is_failed_with_its_reason_and_can_be_retried(
    live_server, page, team
):
    log_in(page, live_server, team["mediator"])
    open_entry_page(page, live_server)
    page.route(
        "**/journal-de-bord/sync/",
        lambda route: route.fulfill(status=502, content_type="text/html", body="Bad Gateway"),
    )
    fill_entry(page, people=9)
    submit(page)
    expect(page.locator("#entry-notice")).to_contain_text("Erreur du serveur (502)", timeout=WAIT)
    expect(page.locator("#entry-notice")).to_contain_text("gardée sur ce téléphone")
    [record] = outbox_records(page)
    assert record["status"] == "failed"
    assert Intervention.objects.count() == 0

    page.goto(f"{live_server.url}{OUTBOX}")
    item = page.locator(".outbox-item")
    expect(item).to_contain_text("Échec de l'envoi", timeout=WAIT)
    expect(item).to_contain_text("Erreur du serveur (502)")
    # Failed entries wait for the mediator: no automatic resend into the same error.
    page.unroute("**/journal-de-bord/sync/")
    item.get_by_role("button", name="Réessayer").click()
    expect(page.locator(".outbox-item.status-sent")).to_have_count(1, timeout=WAIT)
    assert str(Intervention.objects.get().pk) == record["id"]


def test_an_offline_entry_refused_at_sync_is_fixed_from_the_outbox(
    live_server, page, context, team
):
    log_in(page, live_server, team["mediator"])
    open_entry_page(page, live_server)
    context.set_offline(True)
    fill_entry(page, people=4)
    page.locator("details.when > summary").click()
    tomorrow = timezone.localtime() + datetime.timedelta(days=2)
    page.get_by_label("Date et heure", exact=True).fill(tomorrow.strftime("%Y-%m-%dT%H:%M"))
    submit(page)
    expect(page.locator("#entry-notice")).to_contain_text("Enregistrée sur ce téléphone")
    [record] = outbox_records(page)

    context.set_offline(False)
    page.goto(f"{live_server.url}{OUTBOX}")
    item = page.locator(".outbox-item.status-invalid")
    expect(item).to_contain_text("À corriger", timeout=WAIT)
    expect(item).to_contain_text("Date et heure : L'heure est dans le futur")
    assert Intervention.objects.count() == 0
    screenshot(page, "logbook-outbox-invalid-360")

    item.get_by_role("button", name="Corriger").click()
    page.wait_for_url(f"**{ENTRY}?brouillon={record['id']}")
    expect(page.locator("#id_started_at-errors")).to_contain_text("futur", timeout=WAIT)
    # Everything typed offline is back in the form.
    assert page.get_by_label("Personnes rencontrées").input_value() == "4"
    assert page.get_by_label("Temps réel").is_checked()
    page.get_by_label("Date et heure", exact=True).fill(
        timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    )
    submit(page)
    expect(page.locator("#entry-notice")).to_contain_text("enregistrée", timeout=WAIT)
    intervention = Intervention.objects.get()
    assert (str(intervention.pk), intervention.people_met) == (record["id"], 4)


def _retry_locked(read):
    """Read from the test thread; SQLite's shared in-memory database may be briefly locked
    by the live server's thread (PostgreSQL never is)."""
    for _ in range(50):
        try:
            return read()
        except OperationalError:
            time.sleep(0.1)
    return read()


def stored_count() -> int:
    return _retry_locked(lambda: Intervention.objects.count())


def stored_people() -> list[int]:
    return _retry_locked(lambda: sorted(Intervention.objects.values_list("people_met", flat=True)))


def test_one_online_two_offline_then_back_online_gives_exactly_three(
    live_server, page, context, team
):
    """The issue's journey, end to end: 1 online, 2 offline, reconnect → 3 on the server."""
    log_in(page, live_server, team["mediator"])
    open_entry_page(page, live_server)
    page.wait_for_function(
        "caches.match('/journal-de-bord/saisir/').then(r => Boolean(r))", timeout=WAIT
    )
    fill_entry(page, people=1)
    submit(page)
    expect(page.locator("#entry-notice")).to_contain_text("Intervention enregistrée", timeout=WAIT)
    assert stored_count() == 1

    context.set_offline(True)
    for people in (2, 3):
        fill_entry(page, people=people)
        submit(page)
        expect(page.locator("#entry-notice")).to_contain_text(
            "Enregistrée sur ce téléphone", timeout=WAIT
        )
    assert stored_count() == 1

    context.set_offline(False)
    # The outbox sends by itself: wait (bounded) for the server to hold all three.
    deadline = time.monotonic() + WAIT / 1000
    while stored_count() < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert stored_count() == 3
    time.sleep(0.5)  # and no more than three arrive
    assert stored_count() == 3
    assert stored_people() == [1, 2, 3]
