"""The public survey page /enquete/<token>/: no account, anonymous, closed after its dates."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from lien.core.models import AuditEvent
from lien.evaluation.models import SurveyResponse

pytestmark = pytest.mark.django_db

ANSWERS = {"q_cohesion": "4", "q_tranquillity": "5", "q_innovation": "3", "q_recognition": "4"}


def url(survey) -> str:
    return reverse("evaluation:survey_answer", kwargs={"survey_token": survey.token})


def test_anyone_answers_without_an_account_and_is_thanked(world, client):
    survey = world["a"]["survey"]
    page = client.get(url(survey))
    assert page.status_code == 200
    body = page.content.decode()
    assert "La médiation aide à apaiser les conflits" in body
    assert "<legend>" in body and 'type="radio"' in body
    audit_before = AuditEvent.objects.count()
    response = client.post(url(survey), {**ANSWERS, "comment": "Très bonne présence le soir."})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("?merci=1")
    assert "Merci" in client.get(response.headers["Location"]).content.decode()
    answer = SurveyResponse.objects.get(survey=survey)
    assert answer.answered_on == timezone.localdate()
    assert (answer.q_tranquillity, answer.comment) == (5, "Très bonne présence le soir.")
    # Anonymous: no journal line (it would keep the time), nothing about the person.
    assert AuditEvent.objects.count() == audit_before


def test_a_response_stores_no_person_no_address_no_time():
    fields = {f.name for f in SurveyResponse._meta.get_fields()}
    assert fields == {
        "id",
        "survey",
        "answered_on",
        "q_cohesion",
        "q_tranquillity",
        "q_innovation",
        "q_recognition",
        "comment",
    }
    assert SurveyResponse._meta.get_field("answered_on").get_internal_type() == "DateField"


def test_the_page_is_csrf_protected(world):
    client = Client(enforce_csrf_checks=True)
    response = client.post(url(world["a"]["survey"]), ANSWERS)
    assert response.status_code == 403
    assert not SurveyResponse.objects.exists()


@pytest.mark.parametrize("days", [-1, 40])
def test_a_survey_outside_its_dates_refuses_answers(world, client, days):
    survey = world["a"]["survey"]
    today = timezone.localdate()
    if days < 0:
        survey.opens_on, survey.closes_on = (
            today - datetime.timedelta(30),
            today + datetime.timedelta(days),
        )
    else:
        survey.opens_on, survey.closes_on = (
            today + datetime.timedelta(1),
            today + datetime.timedelta(days),
        )
    survey.save()
    assert client.get(url(survey)).status_code == 403
    response = client.post(url(survey), ANSWERS)
    assert response.status_code == 403
    assert "n'accepte pas de réponse" in response.content.decode().replace("&#x27;", "'")
    assert not SurveyResponse.objects.exists()


def test_missing_or_bad_answers_are_named_and_nothing_stored(world, client):
    survey = world["a"]["survey"]
    response = client.post(url(survey), {**ANSWERS, "q_innovation": "", "q_cohesion": "9"})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"q_innovation", "q_cohesion"}
    assert "Choisissez une réponse à cette question." in response.content.decode()
    assert not SurveyResponse.objects.exists()


def test_a_comment_naming_someone_is_flagged_until_confirmed(world, client):
    survey = world["a"]["survey"]
    assert 'name="text_confirmed"' not in client.get(url(survey)).content.decode()
    response = client.post(
        url(survey), {**ANSWERS, "comment": "Merci à Mme Durand, 06 12 34 56 78"}
    )
    assert response.status_code == 200
    assert "comment" in response.context["form"].errors
    assert 'name="text_confirmed"' in response.content.decode()
    assert not SurveyResponse.objects.exists()
    confirmed = {**ANSWERS, "comment": "Merci à Mme Durand", "text_confirmed": "on"}
    assert client.post(url(survey), confirmed).status_code == 302
    assert SurveyResponse.objects.get().comment == "Merci à Mme Durand"
    SurveyResponse.objects.all().delete()
    response = client.post(url(survey), {**ANSWERS, "comment": "<script>x</script>"})
    assert "ne peut pas contenir de balises HTML" in response.content.decode()
    assert not SurveyResponse.objects.exists()


@pytest.mark.parametrize("token", ["abc", "x" * 80, "%00", "' OR 1=1 --"])
def test_an_unknown_token_is_a_404(world, client, token):
    assert client.get(f"/enquete/{token}/").status_code == 404
    assert client.post(f"/enquete/{token}/", ANSWERS).status_code == 404
