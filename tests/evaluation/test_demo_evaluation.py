import pytest
from django.core.management import call_command

from lien.evaluation import queries
from lien.evaluation.models import Evaluation, EvaluationState, SurveyResponse

pytestmark = pytest.mark.django_db


def test_demo_builds_evaluations_once_through_the_services(capsys):
    call_command("load_referentiel", verbosity=0)
    call_command("load_indicators", verbosity=0)
    call_command("demo", "--scale", "1", "--months", "1")
    final = Evaluation.objects.get(state=EvaluationState.FINAL)
    assert Evaluation.objects.filter(state=EvaluationState.DRAFT).count() == 1
    assert final.assessments.count() == 5
    assert final.avoided_costs.count() == 2
    rows = {r["register"].code: r for r in queries.evaluation_summary(final, protected=True)}
    [residents, partners] = sorted(
        rows["cohesion-sociale"]["surveys"], key=lambda s: s["audience"] != "residents"
    )
    assert (residents["responses"], residents["suppressed"]) == (23, False)
    assert (partners["responses_label"], partners["suppressed"]) == ("< 5 réponses", True)
    assert all(c["assumptions"] for c in rows["contribution-economique"]["avoided_costs"])
    responses = SurveyResponse.objects.count()
    call_command("demo", "--scale", "1", "--months", "1")
    assert Evaluation.objects.count() == 2
    assert SurveyResponse.objects.count() == responses
