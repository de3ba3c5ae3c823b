"""Data-subject requests: find a person's records by pseudonym, export, erase; journaled;
indicators unchanged; coordinator of the structure only."""

import datetime
import json

import pytest
from django.utils import timezone

from lien.core.models import AuditAction, AuditEvent
from lien.followup import services, subject_requests
from lien.followup.models import Referral, Situation
from lien.indicators import engine
from lien.referentiel.models import Domain, RequestTheme
from lien.territories.models import Territory

pytestmark = pytest.mark.django_db

URL = "/suivis/droits-des-personnes/"


def open_situation(team, actor_key="mediator", **overrides):
    data = {
        "service": team["service"],
        "kind": "deferred",
        "initials": "Mme K.",
        "domain": Domain.objects.get(code="habitat-social"),
        "commune": Territory.objects.get(level="commune", code="59512"),
        "summary": "Impayés de loyer, dossier à reprendre avec le bailleur.",
    }
    data.update(overrides)
    return services.situation_create(actor=team[actor_key], data=data)


def refer(team, **overrides):
    data = {
        "service": team["service"],
        "partner": team["caf"],
        "theme": RequestTheme.objects.get(code="prestations-sociales"),
        "commune": Territory.objects.get(level="commune", code="59512"),
        "person": "Mme K.",
        "request": "Dossier de prestations bloqué depuis deux mois.",
    }
    data.update(overrides)
    return services.referral_create(actor=team["mediator"], data=data)


@pytest.fixture
def person(team):
    today = timezone.localdate()
    nominative = open_situation(
        team,
        initials="Famille K.",
        is_nominative=True,
        names="Karima Kaddour",
        contact="06 12 34 56 78",
        consent_on=today,
        consent_scope="follow_up",
    )
    pseudonymous = open_situation(team)
    other = open_situation(team, initials="M. D.")
    referral = refer(team, callback="06 12 34 56 78", callback_consent=True)
    linked = refer(team, person="K.", situation=nominative)
    elsewhere = services.situation_create(
        actor=team["mediator_b"],
        data={
            "service": team["service_b"],
            "kind": "deferred",
            "initials": "Mme K.",
            "domain": Domain.objects.get(code="habitat-social"),
            "commune": Territory.objects.get(level="commune", code="62041"),
            "summary": "Autre structure.",
        },
    )
    return {
        "nominative": nominative,
        "pseudonymous": pseudonymous,
        "other": other,
        "referral": referral,
        "linked": linked,
        "elsewhere": elsewhere,
    }


def test_search_finds_every_record_of_the_person_in_the_structure_only(team, person):
    by_pseudonym = subject_requests.find_records(actor=team["coordinator"], term="mme k.")
    assert {s.pk for s in by_pseudonym.situations} == {person["pseudonymous"].pk}
    assert {r.pk for r in by_pseudonym.referrals} == {person["referral"].pk}
    by_name = subject_requests.find_records(actor=team["coordinator"], term="Kaddour")
    assert {s.pk for s in by_name.situations} == {person["nominative"].pk}
    # The referral of the situation found comes with it, whatever its pseudonym.
    assert {r.pk for r in by_name.referrals} == {person["linked"].pk}
    by_reference = subject_requests.find_records(
        actor=team["coordinator"], term=person["other"].reference
    )
    assert [s.pk for s in by_reference.situations] == [person["other"].pk]
    reads = AuditEvent.objects.filter(action=AuditAction.READ, note__startswith="demande de droits")
    assert reads.filter(object_id=str(person["nominative"].pk)).exists()


def test_export_holds_the_records_and_is_journaled(team, person, login):
    client = login(team["coordinator"])
    response = client.post(URL, {"term": "Kaddour", "action": "export"})
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    document = json.loads(response.content)
    assert [s["noms"] for s in document["suivis"]] == ["Karima Kaddour"]
    assert document["suivis"][0]["coordonnees"] == "06 12 34 56 78"
    assert [r["personne"] for r in document["mises_en_relation"]] == ["K."]
    assert AuditEvent.objects.filter(
        action=AuditAction.EXPORT, object_id=str(person["nominative"].pk)
    ).exists()


def test_erasure_anonymises_keeps_counts_and_is_journaled(team, person, login):
    structure = team["structure"]
    month = timezone.localdate().replace(day=1)
    period = (month, month + datetime.timedelta(days=40))

    perimeter = engine.Perimeter(
        start=period[0], end=period[1], structure_ids=(structure.pk,), protected=False
    )

    def counts():
        return [engine.measure_value(code, perimeter) for code in ("referrals", "agreements")]

    before = counts()
    assert before[0] == 2  # the two referrals of the structure are counted
    client = login(team["coordinator"])
    refused = client.post(URL, {"term": "Mme K.", "action": "erase"})
    assert refused.status_code == 400
    assert "confirmation" in refused.content.decode()
    assert Situation.objects.get(pk=person["pseudonymous"].pk).initials == "Mme K."

    done = client.post(URL, {"term": "Mme K.", "action": "erase", "confirm": "on"})
    assert done.status_code == 302
    situation = Situation.objects.get(pk=person["pseudonymous"].pk)
    assert situation.initials == subject_requests.ERASED
    assert situation.summary == subject_requests.ERASED
    referral = Referral.objects.get(pk=person["referral"].pk)
    assert (referral.person, referral.callback) == (subject_requests.ERASED, "")
    # Untouched: another person, another structure.
    assert Situation.objects.get(pk=person["other"].pk).initials == "M. D."
    assert Situation.objects.get(pk=person["elsewhere"].pk).initials == "Mme K."
    assert counts() == before
    erased_ids = set(
        AuditEvent.objects.filter(action=AuditAction.ERASE).values_list("object_id", flat=True)
    )
    assert {str(person["pseudonymous"].pk), str(person["referral"].pk)} <= erased_ids


def test_erasing_a_nominative_follow_up_records_the_consent_withdrawal(team, person):
    subject_requests.erase_records(actor=team["coordinator"], term="Kaddour")
    situation = Situation.objects.get(pk=person["nominative"].pk)
    assert not situation.is_nominative
    assert (situation.names, situation.contact) == ("", "")
    assert situation.consent_withdrawn_on == timezone.localdate()
    assert set(situation.parties.values_list("label", flat=True)) <= {subject_requests.ERASED}


@pytest.mark.parametrize("term", ["", "k", "x" * 101])
def test_a_bad_search_term_is_refused_clearly(team, login, term):
    response = login(team["coordinator"]).get(URL, {"term": term})
    assert response.status_code == 400
    assert "caractères" in response.content.decode()


@pytest.mark.parametrize("actor_key", ["mediator", "partner", "landlord_member", "mediator_b"])
def test_only_the_coordinator_handles_requests(team, person, login, actor_key):
    client = login(team[actor_key])
    assert client.get(URL, {"term": "Mme K."}).status_code == 403
    assert (
        client.post(URL, {"term": "Mme K.", "action": "erase", "confirm": "on"}).status_code == 403
    )
    assert Situation.objects.get(pk=person["pseudonymous"].pk).initials == "Mme K."


def test_unknown_action_is_a_clear_400(team, login):
    response = login(team["coordinator"]).post(URL, {"term": "Mme K.", "action": "drop"})
    assert response.status_code == 400
    assert "« drop »" in response.content.decode()


def test_the_coordinator_sees_how_often_warnings_were_overridden(team, login):
    open_situation(team, summary="Conflit calme entre voisins.")
    kept = open_situation(team, summary="Voisin malade, appeler au 06 12 34 56 78.")
    Situation.objects.filter(pk=kept.pk).update(summary_warnings=["health", "phone"])
    response = login(team["coordinator"]).get("/textes-libres/avertissements/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "1 texte(s) gardé(s) malgré un avertissement, sur 2 texte(s)" in body
    assert "une information de santé (1)" in body
    assert login(team["mediator"]).get("/textes-libres/avertissements/").status_code == 403
