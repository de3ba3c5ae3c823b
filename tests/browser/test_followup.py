"""The referral journey in Chromium: a mediator refers a person, the partner answers through
the signed link it received by e-mail (no account), the mediator sees the answer. Each page
passes axe (WCAG 2.1 AA) on a phone."""

import re

import pytest
from django.core import mail

from lien.core.models import Role
from lien.referentiel.services import referentiel_load
from lien.structures.models import OrganisationKind
from tests.browser.conftest import format_violations, run_axe, screenshot
from tests.factories import OrganisationFactory, ServiceFactory, make_membership, make_territories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "un-mot-de-passe-long"


@pytest.fixture
def world(transactional_db):
    territories = make_territories()
    referentiel_load()
    service = ServiceFactory(name="Médiation de proximité")
    service.territories.set([territories["mel"]])
    partner = OrganisationFactory(
        name="CAF du Nord", kind=OrganisationKind.PARTNER, contact_email="accueil@caf.example"
    )
    mediator = make_membership(Role.MEDIATOR, structure=service.structure)
    return {"mediator": mediator, "partner": partner, "service": service}


def assert_accessible(page):
    violations = run_axe(page)
    assert not violations, format_violations(violations)


def test_refer_answer_by_link_and_see_the_answer(live_server, phone, world):
    page = phone
    mail.outbox.clear()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Adresse e-mail").fill(world["mediator"].user.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/orientations/nouvelle/")
    assert_accessible(page)
    page.get_by_label("Dispositif").select_option(label="Médiation de proximité")
    page.get_by_label("Partenaire", exact=True).select_option(label="CAF du Nord")
    page.get_by_label("Thème").select_option(label="Prestations sociales (CAF, RSA, aides)")
    page.get_by_label("Commune de la personne").select_option(label="Roubaix")
    page.get_by_label("Personne orientée").fill("Mme K.")
    page.get_by_label("Demande", exact=True).fill(
        "Dossier bloqué depuis deux mois, pièces déjà envoyées."
    )
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(re.compile(r".*/orientations/[0-9a-f-]+/$"))
    assert "Envoyée" in page.content()
    screenshot(page, "followup-referral-sent-360")

    # The partner's e-mail carries the signed link; it opens without any account.
    [message] = [m for m in mail.outbox if m.to == ["accueil@caf.example"]]
    link = re.search(r"http://\S+/orientation/\S+/", message.body).group(0)
    path = link.split("/orientation/", 1)[1]
    partner = page.context.browser.new_context(viewport={"width": 360, "height": 740})
    partner_page = partner.new_page()
    try:
        partner_page.goto(f"{live_server.url}/orientation/{path}")
        assert "Mme K." in partner_page.content()
        assert partner_page.get_by_role("navigation", name="Menu principal").count() == 0
        assert_accessible(partner_page)
        partner_page.get_by_label("Je refuse (précisez le motif)").check()
        partner_page.get_by_role("button", name="Envoyer la réponse").click()
        assert partner_page.get_by_role("alert").count() >= 1  # the reason is required
        partner_page.get_by_label("Je refuse (précisez le motif)").check()
        partner_page.get_by_label("Motif du refus").fill("Relève de la CPAM")
        partner_page.get_by_role("button", name="Envoyer la réponse").click()
        assert "Votre réponse est enregistrée" in partner_page.content()
        assert_accessible(partner_page)
        screenshot(partner_page, "followup-partner-link-answered-360")
    finally:
        partner.close()

    # The mediator sees the answer (and was notified).
    page.reload()
    assert "Refusée" in page.content() and "Relève de la CPAM" in page.content()
    assert_accessible(page)
