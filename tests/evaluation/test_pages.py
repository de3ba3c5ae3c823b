"""The evaluation pages: who reads, who writes, what each one sees."""

import pytest
from django.urls import reverse

from lien.evaluation.models import Evaluation, SelfAssessment, Survey
from tests.evaluation.factories import make_responses

pytestmark = pytest.mark.django_db

READERS_OF_A = ["coordinator", "mediator", "city_member", "steering_nord", "admin"]
OUTSIDERS_OF_A = ["coordinator_b", "landlord_member", "steering_pdc", "partner"]
REFUSED = {403, 404}


def detail(world) -> str:
    return reverse("evaluation:evaluation_detail", kwargs={"pk": world["a"]["evaluation"].pk})


def finalise(world):
    Evaluation.objects.filter(pk=world["a"]["evaluation"].pk).update(state="final")


@pytest.mark.parametrize("actor", READERS_OF_A)
def test_the_structure_its_funder_its_steering_read_the_evaluation(world, login, actor):
    finalise(world)
    client = login(world[actor])
    response = client.get(detail(world))
    assert response.status_code == 200
    assert "Contribution économique" in response.content.decode()
    assert "Coût moyen d&#x27;un déplacement" in response.content.decode()  # assumptions
    listing = client.get(reverse("evaluation:evaluation_list")).content.decode()
    assert "Médiation de proximité" in listing


@pytest.mark.parametrize("actor", OUTSIDERS_OF_A)
def test_others_never_reach_the_evaluation(world, login, actor):
    finalise(world)
    client = login(world[actor])
    assert client.get(detail(world)).status_code in REFUSED
    listing = client.get(reverse("evaluation:evaluation_list"))
    assert "Médiation de proximité" not in listing.content.decode()


@pytest.mark.parametrize(
    ("actor", "protected", "can_manage"),
    [
        ("coordinator", False, True),
        ("mediator", False, False),
        ("city_member", True, False),
        ("steering_nord", True, False),
        ("admin", False, True),
    ],
)
def test_outside_readers_get_protected_figures_and_no_action(
    world, login, actor, protected, can_manage
):
    finalise(world)
    response = login(world[actor]).get(detail(world))
    assert response.context["protected"] is protected
    assert response.context["can_manage"] is can_manage
    assert ("Repasser en brouillon</a>" in response.content.decode()) is can_manage


@pytest.mark.parametrize("actor", ["city_member", "steering_nord"])
def test_a_draft_stays_inside_the_structure(world, login, actor):
    client = login(world[actor])
    assert client.get(detail(world)).status_code == 404
    listing = client.get(reverse("evaluation:evaluation_list")).content.decode()
    assert "Médiation de proximité" not in listing


@pytest.mark.parametrize(
    ("actor", "status"),
    [("coordinator", 200), ("mediator", 200), ("admin", 200), ("city_member", 403),
     ("steering_nord", 403), ("coordinator_b", 404), ("partner", 403)],
)  # fmt: skip
def test_survey_pages_stay_inside_the_structure(world, login, actor, status):
    survey = world["a"]["survey"]
    response = login(world[actor]).get(
        reverse("evaluation:survey_detail", kwargs={"pk": survey.pk})
    )
    assert response.status_code == status


def test_free_text_answers_are_shown_to_the_coordination_only(world, login):
    survey = world["a"]["survey"]
    make_responses(survey, [4, 4, 5, 5, 3], comment="Présence rassurante le soir")
    url = reverse("evaluation:survey_detail", kwargs={"pk": survey.pk})
    coordinator = login(world["coordinator"]).get(url)
    assert "Présence rassurante le soir" in coordinator.content.decode()
    assert survey.token in coordinator.content.decode()  # the link to share
    mediator = login(world["mediator"]).get(url)
    assert mediator.status_code == 200
    assert "Présence rassurante le soir" not in mediator.content.decode()
    assert "4,20" in mediator.content.decode() or "4.20" in mediator.content.decode()


def test_survey_results_under_five_answers_are_hidden(world, login):
    survey = world["a"]["survey"]
    make_responses(survey, [1, 5], comment="Un seul avis, facile à reconnaître")
    response = login(world["coordinator"]).get(
        reverse("evaluation:survey_detail", kwargs={"pk": survey.pk})
    )
    body = response.content.decode()
    assert "&lt; 5 réponses" in body
    assert "Un seul avis" not in body


def test_coordinator_creates_assesses_and_finalises(world, login):
    client = login(world["coordinator"])
    service = world["service"]
    response = client.post(
        reverse("evaluation:evaluation_create"),
        {"service": str(service.pk), "starts_on": "2025-01-01", "ends_on": "2025-06-30"},
    )
    evaluation = Evaluation.objects.get(service=service, starts_on="2025-01-01")
    assert response.headers["Location"] == reverse(
        "evaluation:evaluation_detail", kwargs={"pk": evaluation.pk}
    )
    url = reverse("evaluation:evaluation_assess", kwargs={"pk": evaluation.pk})
    page = client.get(url).content.decode()
    assert 'name="level_tranquillite-publique"' in page
    response = client.post(
        url,
        {
            "level_tranquillite-publique": "3",
            "evidence_tranquillite-publique": "Moins de plaintes.",
        },
    )
    assert response.status_code == 302
    assert SelfAssessment.objects.get(evaluation=evaluation).level == 3
    # Evidence naming a person is flagged (the free-text screening) until confirmed.
    response = client.post(
        url,
        {"level_cohesion-sociale": "2", "evidence_cohesion-sociale": "Merci à Mme Dupont"},
    )
    assert response.status_code == 200
    assert "evidence_cohesion-sociale" in response.context["form"].errors
    edit = reverse("evaluation:evaluation_edit", kwargs={"pk": evaluation.pk})
    client.post(edit, {"starts_on": "2025-01-01", "ends_on": "2025-06-30", "state": "final"})
    evaluation.refresh_from_db()
    assert evaluation.is_final
    # Final: the self-assessment form refuses, with the reason on the page.
    response = client.post(url, {"level_tranquillite-publique": "1"})
    assert "finalisée" in response.content.decode()
    assert SelfAssessment.objects.get(evaluation=evaluation).level == 3


def test_coordinator_creates_a_survey_and_an_avoided_cost(world, login):
    client = login(world["coordinator"])
    response = client.post(
        reverse("evaluation:survey_create"),
        {"service": str(world["service"].pk), "audience": "partners", "title": "Partenaires",
         "opens_on": "2025-01-01", "closes_on": "2025-03-01"},
    )  # fmt: skip
    survey = Survey.objects.get(title="Partenaires")
    assert response.headers["Location"].endswith(f"/evaluations/enquetes/{survey.pk}/")
    evaluation = world["a"]["evaluation"]
    url = reverse("evaluation:avoided_cost_create", kwargs={"evaluation_pk": evaluation.pk})
    from lien.referentiel.models import UtilityRegister

    register = UtilityRegister.objects.get(code="contribution-economique")
    data = {"register": str(register.pk), "label": "Sinistres évités", "unit_cost": "80",
            "indicator": "", "manual_quantity": "5", "assumptions": ""}  # fmt: skip
    response = client.post(url, data)
    assert "Les hypothèses de l&#x27;estimation sont obligatoires." in response.content.decode()
    response = client.post(url, {**data, "manual_quantity": ""})
    assert "pas les deux" in response.content.decode()
    response = client.post(url, {**data, "assumptions": "80 € par sinistre (bailleur, 2024)."})
    assert response.status_code == 302
    page = client.get(detail(world)).content.decode()
    assert "Sinistres évités : 400,00 €" in page
    assert "80 € par sinistre (bailleur, 2024)." in page


@pytest.mark.parametrize("actor", ["mediator", "city_member", "steering_nord", "partner"])
def test_readers_cannot_write(world, login, actor):
    client = login(world[actor])
    evaluation = world["a"]["evaluation"]
    for name, kwargs in [
        ("evaluation:evaluation_create", {}),
        ("evaluation:survey_create", {}),
        ("evaluation:evaluation_edit", {"pk": evaluation.pk}),
        ("evaluation:evaluation_assess", {"pk": evaluation.pk}),
        ("evaluation:avoided_cost_create", {"evaluation_pk": evaluation.pk}),
        ("evaluation:avoided_cost_delete", {"pk": world["a"]["avoided_cost"].pk}),
    ]:
        assert client.post(reverse(name, kwargs=kwargs)).status_code in REFUSED, name
    assert evaluation.avoided_costs.exists()


def test_list_and_detail_queries_do_not_grow_with_rows(world, login, django_assert_max_num_queries):
    client = login(world["coordinator"])
    for year in range(2015, 2025):
        Evaluation.objects.create(
            service=world["service"], starts_on=f"{year}-01-01", ends_on=f"{year}-12-31"
        )
    with django_assert_max_num_queries(15):
        assert client.get(reverse("evaluation:evaluation_list")).status_code == 200
    with django_assert_max_num_queries(30):
        assert client.get(detail(world)).status_code == 200


def test_an_open_survey_shows_its_link_as_a_qr_code_and_a_closed_one_does_not(world, login):
    import datetime

    from django.conf import settings
    from django.utils import timezone

    from lien.core.qr import qr_svg
    from lien.evaluation.models import Survey

    survey = world["a"]["survey"]
    url = reverse("evaluation:survey_detail", kwargs={"pk": survey.pk})
    link = settings.LIEN_BASE_URL.rstrip("/") + reverse(
        "evaluation:survey_answer", kwargs={"survey_token": survey.token}
    )
    body = login(world["coordinator"]).get(url).content.decode()
    assert (
        qr_svg(link, label="Image à scanner pour ouvrir le questionnaire") in body
    )  # the same link, drawn
    assert '<svg role="img" aria-label="Image à scanner pour ouvrir le questionnaire"' in body
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    Survey.objects.filter(pk=survey.pk).update(
        opens_on=yesterday - datetime.timedelta(days=5), closes_on=yesterday
    )
    assert "<svg" not in login(world["coordinator"]).get(url).content.decode()
