"""Dashboards in Chromium: accessible (axe, WCAG 2.1 AA) on a phone and a wide screen, in
light and dark schemes, no CSP violation, and the steering committee drills down from the
region to a commune through the table and the map."""

import datetime

import pytest
from django.utils import timezone

from lien.core.models import Role
from lien.indicators.services import indicators_load
from lien.logbook import services
from lien.logbook.forms import InterventionForm
from lien.referentiel.services import referentiel_load
from tests.browser.conftest import format_violations, run_axe, screenshot
from tests.factories import ServiceFactory, make_membership, make_territories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "un-mot-de-passe-long"


def square(x, y, size=0.05):
    return {
        "type": "Polygon",
        "coordinates": [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]],
    }


@pytest.fixture
def steering(transactional_db):
    territories = make_territories()
    referentiel_load()
    indicators_load()
    territories["lille"].geometry = square(3.0, 50.6)
    territories["roubaix"].geometry = square(3.15, 50.68)
    territories["lille"].save()
    territories["roubaix"].save()
    service = ServiceFactory(name="Médiation de proximité")
    mediator = make_membership(Role.MEDIATOR, structure=service.structure)
    when = timezone.localtime() - datetime.timedelta(hours=1)
    for i, (commune, activity) in enumerate(
        [("59512", "gestion-conflits")] * 12 + [("59350", "presence-active")] * 3
    ):
        data = {
            "service": str(service.pk),
            "started_at": when.strftime("%Y-%m-%dT%H:%M"),
            "duration_minutes": 20,
            "commune": commune,
            "qpv": "QX05901D" if commune == "59512" and i % 2 else "",
            "place_type": "hall-immeuble",
            "activity_type": activity,
            "domain": "habitat-social",
            "situation_category": "",
            "origin": "resident",
            "timing": "real_time" if activity == "gestion-conflits" else "",
            "form": "individual" if activity == "gestion-conflits" else "",
            "people_met": 2,
            "outcome": "apaise-resolu",
            "emergency_handoff": "",
            "mediators": [],
            "note": "",
        }
        form = InterventionForm.from_payload(
            data, structure=service.structure, author=mediator.user
        )
        assert form.is_valid(), form.errors
        services.intervention_create(actor=mediator, data=form.intervention_data())
    return make_membership(Role.STEERING, territory=territories["region"])


def log_in(page, url, membership):
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("Adresse e-mail").fill(membership.user.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{url}/")


def assert_accessible(page):
    violations = run_axe(page)
    assert not violations, format_violations(violations)


def test_steering_drills_down_on_a_phone(live_server, phone, steering):
    page = phone
    log_in(page, live_server.url, steering)
    page.get_by_role("button", name="Menu").or_(page.get_by_text("Menu", exact=True)).first.click()
    page.get_by_role("link", name="Tableaux de bord").first.click()
    page.wait_for_url(f"{live_server.url}/tableaux-de-bord/")
    assert "Données à jour au" in page.content()
    assert page.get_by_role("heading", name="Interventions par mois").is_visible()
    assert_accessible(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"la page déborde : {width} px"
    screenshot(page, "dashboard-overview-steering-360")

    page.get_by_role("link", name="Territoires").click()
    # Région → départements: the table is the accessible way down.
    page.get_by_role("link", name="Nord").click()
    page.get_by_role("link", name="Métropole Européenne de Lille").click()
    assert page.get_by_text("Interventions par commune").is_visible()
    assert page.locator("svg path").count() == 2  # Lille and Roubaix outlines
    assert_accessible(page)
    screenshot(page, "dashboard-map-steering-360")
    # The map is clickable too (mouse users): Roubaix opens its QPV.
    page.locator("path.map-link").nth(1).click()
    assert (
        page.get_by_role("navigation", name="Territoire affiché")
        .get_by_text("Roubaix")
        .is_visible()
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_dashboard_is_accessible_on_a_wide_screen(live_server, browser, steering, scheme):
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="fr-FR", color_scheme=scheme
    )
    page = context.new_page()
    try:
        log_in(page, live_server.url, steering)
        for path in ("", "activite/", "resultats/", "territoires/", "indicateurs/"):
            page.goto(f"{live_server.url}/tableaux-de-bord/{path}?periode=trimestre")
            page.locator("details").evaluate_all("els => els.forEach(e => e.open = true)")
            assert_accessible(page)
        screenshot(page, f"dashboard-indicators-1280-{scheme}")
    finally:
        context.close()
