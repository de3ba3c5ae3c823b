"""Regional steering in Chromium on a phone: the job observatory, a meeting, and a biannual
report asked for, prepared by the job queue and downloaded — accessible (axe) throughout."""

import datetime

import pytest
from django.utils import timezone

from lien.core.models import Role
from lien.indicators.models import IndicatorDefinition
from lien.indicators.services import indicators_load
from lien.referentiel.services import referentiel_load
from lien.steering import services as steering_services
from tests.browser.conftest import screenshot
from tests.browser.test_dashboards import assert_accessible, log_in
from tests.factories import ServiceFactory, make_membership, make_territories
from tests.steering.factories import make_agreement
from tests.steering.test_observatory import hire

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def steering(transactional_db):
    territories = make_territories()
    referentiel_load()
    indicators_load()
    service = ServiceFactory(name="Médiation de proximité")
    for _ in range(6):
        hire(service, datetime.date(2024, 5, 1))
    member = make_membership(Role.STEERING, territory=territories["region"])
    agreement = make_agreement(territories["region"], title="Plan régional", job_target=40)
    steering_services.agreement_target_set(
        actor=member, agreement=agreement, value=500, note="Cible annuelle",
        indicator=IndicatorDefinition.objects.get(code="personnes-rencontrees"),
    )  # fmt: skip
    meeting = steering_services.meeting_create(
        actor=member, agreement=agreement,
        data={"held_on": timezone.localdate(), "kind": "steering"},
    )  # fmt: skip
    steering_services.decision_create(
        actor=member, meeting=meeting,
        data={"text": "Recenser les postes adultes-relais", "owner": "Mission d'appui"},
    )  # fmt: skip
    return member


def assert_fits(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"la page déborde : {width} px"


def test_steering_follows_the_observatory_and_gets_its_biannual_report(
    live_server, phone, steering
):
    page = phone
    log_in(page, live_server.url, steering)
    page.goto(f"{live_server.url}/pilotage/")
    assert_accessible(page)
    page.get_by_role("link", name="Plan régional").click()
    assert page.get_by_role("heading", name="Observatoire des emplois").is_visible()
    assert page.locator("progress#target-progress").get_attribute("value") == "15.0"  # 6 / 40
    assert page.get_by_role("rowheader", name="Personnes rencontrées").is_visible()
    assert_accessible(page)
    assert_fits(page)
    screenshot(page, "steering-observatory-360")
    page.get_by_role("link", name="Comité de pilotage").first.click()
    assert page.get_by_text("Recenser les postes adultes-relais").is_visible()
    assert_accessible(page)

    page.goto(f"{live_server.url}/rapports/")
    assert_accessible(page)
    today = timezone.localdate()
    page.get_by_label("Année").fill(str(today.year))
    page.get_by_label("Semestre").select_option("1" if today.month <= 6 else "2")
    page.get_by_label("Convention-cadre suivie").select_option(label="Plan régional")
    page.get_by_role("button", name="Lancer la préparation").click()
    # The test queue runs the job at once; in production the page polls its progress.
    page.wait_for_selector("text=Télécharger le PDF")
    assert_accessible(page)
    assert_fits(page)
    screenshot(page, "steering-report-ready-360")
    with page.expect_download() as download:
        page.get_by_role("button", name="Télécharger le PDF").click()
    assert download.value.suggested_filename.startswith("bilan-semestriel-")
