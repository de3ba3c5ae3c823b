"""The evaluation in Chromium on a 360 px phone, accessible (axe, WCAG 2.1 AA) and without
overflow: the public survey answered and thanked; a mediator reading the evaluation and a
survey's results."""

import pytest

from lien.core.models import Role
from lien.evaluation.models import SurveyResponse
from lien.indicators.services import indicators_load
from lien.referentiel.services import referentiel_load
from tests.browser.conftest import browser, format_violations, phone, run_axe, screenshot
from tests.evaluation.factories import make_evaluation, make_responses, make_survey
from tests.factories import ServiceFactory, make_membership, make_territories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

__all__ = ["browser", "phone"]  # the fixtures of tests/browser, used here


def check(page):
    violations = run_axe(page)
    assert not violations, format_violations(violations)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"la page déborde : {width} px de large pour un écran de 360 px"


def test_a_resident_answers_the_survey_on_a_phone(live_server, phone):
    make_territories()
    survey = make_survey(ServiceFactory(name="Médiation de proximité"), title="Votre avis")
    page = phone
    page.goto(f"{live_server.url}/enquete/{survey.token}/")
    check(page)
    page.get_by_role("button", name="Envoyer mes réponses").click()
    assert page.get_by_role("alert").count() >= 1  # the questions left unanswered, named
    check(page)
    for group in page.get_by_role("group").all():
        group.get_by_label("Plutôt d'accord").check()
    page.get_by_label("Voulez-vous ajouter quelque chose ? (facultatif)").fill("Merci.")
    page.get_by_role("button", name="Envoyer mes réponses").click()
    page.get_by_role("heading", name="Merci !").wait_for()
    check(page)
    screenshot(page, "evaluation-survey-thanks")
    answer = SurveyResponse.objects.get()
    assert (answer.q_cohesion, answer.comment) == (4, "Merci.")


def test_a_mediator_reads_the_evaluation_on_a_phone(live_server, phone):
    make_territories()
    referentiel_load()
    indicators_load()
    service = ServiceFactory(name="Médiation de proximité")
    objects = make_evaluation(service)
    make_responses(objects["survey"], [4, 5, 3, 4, 5])
    mediator = make_membership(Role.MEDIATOR, structure=service.structure)
    page = phone
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Adresse e-mail").fill(mediator.user.email)
    page.get_by_label("Mot de passe").fill("un-mot-de-passe-long")
    page.get_by_role("button", name="Se connecter").click()
    page.goto(f"{live_server.url}/evaluations/{objects['evaluation'].pk}/")
    page.get_by_role("heading", name="Contribution économique").wait_for()
    check(page)
    screenshot(page, "evaluation-detail-360")
    page.goto(f"{live_server.url}/evaluations/enquetes/{objects['survey'].pk}/")
    check(page)
