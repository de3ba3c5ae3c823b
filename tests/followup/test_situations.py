"""Situations: pseudonymous by default, nominative only with consent, every read of names
journaled, withdrawal erases them, steps, agreements, meetings as interventions, purge."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from lien.core.models import AuditAction, AuditEvent
from lien.followup import services
from lien.followup.models import Situation, SituationStatus
from lien.indicators import engine
from lien.indicators.models import ActivityCube
from lien.notifications.models import Notification
from lien.referentiel.models import Domain, Outcome
from lien.territories.models import Territory

pytestmark = pytest.mark.django_db


def form_data(team, **overrides):
    data = {
        "service": team["service"].pk,
        "kind": "deferred",
        "initials": "Voisins bât. C",
        "domain": Domain.objects.get(code="habitat-social").pk,
        "category": "",
        "commune": "59512",
        "qpv": "",
        "summary": "Conflit de bruit entre deux logements, nuits agitées depuis un mois.",
        "parties": "Locataire du 3e\nLocataire du 2e",
        "consent_on": "",
        "consent_scope": "",
        "names": "",
        "contact": "",
    }
    data.update(overrides)
    return data


def open_situation(team, **overrides):
    data = {
        "service": team["service"],
        "kind": "deferred",
        "initials": "M. D.",
        "domain": Domain.objects.get(code="habitat-social"),
        "commune": Territory.objects.get(level="commune", code="59512"),
        "summary": "Conflit d'usage du parking.",
    }
    data.update(overrides)
    return services.situation_create(actor=team["mediator"], data=data)


def test_a_situation_is_pseudonymous_by_default(team, login):
    client = login(team["mediator"])
    response = client.post(reverse("followup:situation_create"), form_data(team))
    assert response.status_code == 302
    situation = Situation.objects.get()
    assert situation.reference == f"S-{timezone.localdate().year}-0001"
    assert not situation.is_nominative and situation.names == ""
    assert [p.label for p in situation.parties.all()] == ["Locataire du 3e", "Locataire du 2e"]
    assert situation.purge_on > situation.opened_on
    # Names typed without choosing a nominative follow-up are refused, not stored.
    response = client.post(reverse("followup:situation_create"), form_data(team, names="Dupont"))
    assert response.status_code == 200
    assert "ne se saisissent que dans un suivi nominatif" in response.content.decode()
    assert Situation.objects.count() == 1


def test_free_text_is_screened(team, login):
    client = login(team["mediator"])
    data = form_data(team, summary="Mme Martin appelle au 06 12 34 56 78 chaque soir.")
    response = client.post(reverse("followup:situation_create"), data)
    assert response.status_code == 200
    assert "Reformulez" in response.content.decode()
    assert not Situation.objects.exists()
    response = client.post(reverse("followup:situation_create"), {**data, "text_confirmed": "on"})
    assert response.status_code == 302
    assert set(Situation.objects.get().summary_warnings) >= {"phone"}


def test_a_nominative_situation_needs_consent_and_every_read_is_journaled(team, login):
    client = login(team["mediator"])
    data = form_data(team, is_nominative="on", names="Mme Dupont, M. Martin")
    response = client.post(reverse("followup:situation_create"), data)
    assert "exige la date du consentement" in response.content.decode()
    data.update(consent_on=timezone.localdate().isoformat(), consent_scope="follow_up")
    response = client.post(reverse("followup:situation_create"), data)
    situation = Situation.objects.get()
    assert situation.is_nominative and situation.names == "Mme Dupont, M. Martin"
    created = AuditEvent.objects.get(object_id=str(situation.pk), action=AuditAction.CREATE)
    assert "Dupont" not in str(created.after)  # names never copied into the journal
    for member in ("mediator", "mediator2", "coordinator"):
        page = login(team[member]).get(reverse("followup:situation_detail", args=[situation.pk]))
        assert "Mme Dupont" in page.content.decode()
    reads = AuditEvent.objects.filter(object_id=str(situation.pk), action=AuditAction.READ)
    assert reads.count() == 3
    assert {e.actor_id for e in reads} == {
        team[m].user_id for m in ("mediator", "mediator2", "coordinator")
    }
    # Another structure's mediator, a partner, a funder: not found, nothing shown.
    for other in ("mediator_b", "partner", "landlord_member"):
        response = login(team[other]).get(reverse("followup:situation_detail", args=[situation.pk]))
        assert response.status_code in (403, 404)
        assert "Dupont" not in response.content.decode()


def test_withdrawing_consent_erases_the_names(team, login):
    situation = open_situation(
        team,
        is_nominative=True,
        names="Mme Dupont",
        contact="06 00 00 00 00",
        consent_on=timezone.localdate(),
        consent_scope="follow_up",
    )
    response = login(team["mediator"]).post(
        reverse("followup:situation_withdraw", args=[situation.pk])
    )
    assert response.status_code == 302
    situation.refresh_from_db()
    assert not situation.is_nominative and situation.names == "" and situation.contact == ""
    assert situation.consent_withdrawn_on == timezone.localdate()
    event = AuditEvent.objects.filter(object_id=str(situation.pk)).latest("pk")
    assert "Retrait du consentement" in event.note and "Dupont" not in str(event.before)


def test_the_model_refuses_names_without_a_nominative_follow_up(team):
    with pytest.raises(ValidationError):
        open_situation(team, names="Dupont")
    with pytest.raises(ValidationError):
        open_situation(team, is_nominative=True, names="Dupont")  # no consent date


def test_steps_agreements_and_my_next_steps(team, login):
    situation = open_situation(team)
    today = timezone.localdate()
    client = login(team["mediator"])
    client.post(
        reverse("followup:situation_step", args=[situation.pk]),
        {"step-text": "Rappeler le bailleur", "step-due_on": today.isoformat(),
         "step-assignee": team["mediator2"].user_id},
    )  # fmt: skip
    step = situation.next_steps.get()
    assert step.assignee == team["mediator2"].user
    assert Notification.objects.filter(recipient=team["mediator2"].user, kind="next_step").exists()
    mine = login(team["mediator2"]).get(reverse("followup:my_next_steps"))
    assert "Rappeler le bailleur" in mine.content.decode()
    assert (
        "Rappeler le bailleur"
        not in login(team["mediator"]).get(reverse("followup:my_next_steps")).content.decode()
    )
    # Due-step reminders go once.
    assert services.next_steps_remind(today=today) == 1
    assert services.next_steps_remind(today=today) == 0
    login(team["mediator2"]).post(
        reverse("followup:nextstep_done", args=[step.uid]), {"next": "mine"}
    )
    step.refresh_from_db()
    assert step.done_on == today
    client = login(team["mediator"])
    client.post(
        reverse("followup:situation_agreement", args=[situation.pk]),
        {"agreement-text": "Pas de bruit après 22 h", "agreement-agreed_on": today.isoformat(),
         "agreement-review_on": (today + datetime.timedelta(days=15)).isoformat()},
    )  # fmt: skip
    agreement = situation.agreements.get()
    client.post(reverse("followup:agreement_review", args=[agreement.uid]), {"review-held": "1"})
    agreement.refresh_from_db()
    assert agreement.held is True and agreement.reviewed_on == today
    month = today.replace(day=1)
    perimeter = engine.Perimeter(start=month, end=month, structure_ids=(str(team["structure"].pk),))
    assert engine.measure_value("agreements", perimeter) == 1
    assert engine.measure_value("agreements_kept", perimeter) == 1


def test_a_step_goes_only_to_someone_of_the_structure(team):
    situation = open_situation(team)
    with pytest.raises(ValidationError):
        services.next_step_add(
            actor=team["mediator"], situation=situation, text="x",
            due_on=timezone.localdate(), assignee=team["mediator_b"].user,
        )  # fmt: skip


def test_a_meeting_is_an_intervention_counted_in_the_indicators(team, login):
    situation = open_situation(team)
    response = login(team["mediator"]).post(
        reverse("followup:situation_meeting", args=[situation.pk]),
        {
            "meeting-started_at": (timezone.localtime() - datetime.timedelta(hours=2)).strftime(
                "%Y-%m-%dT%H:%M"
            ),
            "meeting-duration_minutes": 60,
            "meeting-form": "round_table",
            "meeting-people_met": 4,
            "meeting-outcome": Outcome.objects.get(code="accord-obtenu").pk,
        },
    )
    assert response.status_code == 302
    meeting = situation.meetings.select_related("intervention").get()
    assert meeting.intervention.form == "round_table"
    assert meeting.intervention.timing == "deferred"
    assert ActivityCube.objects.aggregate(n=Sum("people_met"))["n"] == 4


def test_closing_plans_the_purge_and_the_purge_anonymises(team, login):
    situation = open_situation(
        team, is_nominative=True, names="Mme Dupont", consent_on=timezone.localdate(),
        consent_scope="follow_up",
    )  # fmt: skip
    services.party_add(actor=team["mediator"], situation=situation, role="other", label="Voisin")
    services.situation_close(
        actor=team["coordinator"], situation=situation,
        outcome=Outcome.objects.get(code="apaise-resolu"),
    )  # fmt: skip
    situation.refresh_from_db()
    assert situation.status == SituationStatus.CLOSED
    assert situation.purge_on.year * 12 + situation.purge_on.month == (
        situation.closed_on.year * 12 + situation.closed_on.month + 12
    )
    with pytest.raises(ValidationError):
        services.party_add(actor=team["mediator"], situation=situation, role="other", label="x")
    assert services.situations_purge(today=situation.purge_on - datetime.timedelta(days=1)) == 0
    assert services.situations_purge(today=situation.purge_on) == 1
    situation.refresh_from_db()
    assert situation.names == "" and situation.summary == "[purgé]"
    assert list(situation.parties.values_list("label", flat=True)) == ["[purgé]"]
    assert services.situations_purge(today=situation.purge_on) == 0


def test_another_structure_cannot_write_in_a_situation(team):
    situation = open_situation(team)
    with pytest.raises(PermissionDenied):
        services.party_add(actor=team["mediator_b"], situation=situation, role="other", label="x")
    with pytest.raises(PermissionDenied):
        services.situation_withdraw_consent(actor=team["partner"], situation=situation)


def test_a_situation_left_open_is_purged_two_years_after_the_retention_period(team):
    situation = open_situation(team)
    assert situation.status == SituationStatus.OPEN
    months = team["structure"].situation_retention_months + 24
    index = situation.opened_on.year * 12 + situation.opened_on.month - 1 + months
    assert (situation.purge_on.year, situation.purge_on.month) == (index // 12, index % 12 + 1)
    assert services.situations_purge(today=situation.purge_on - datetime.timedelta(days=1)) == 0
    assert services.situations_purge(today=situation.purge_on) == 1
    situation.refresh_from_db()
    assert situation.summary == services.PURGED


def test_a_change_of_names_is_journaled_as_a_change_without_the_names(team):
    situation = open_situation(
        team,
        is_nominative=True,
        names="Karima Kaddour",
        consent_on=timezone.localdate(),
        consent_scope="follow_up",
    )
    services.situation_update(
        actor=team["mediator"], situation=situation, data={"names": "Karima K. et son fils"}
    )
    event = AuditEvent.objects.filter(
        action=AuditAction.UPDATE, object_id=str(situation.pk)
    ).latest("at")
    assert event.after["names"] == "[donnée nominative modifiée]"
    assert event.before["names"] == "[donnée nominative]"
    assert "Kaddour" not in str(event.before) + str(event.after)
