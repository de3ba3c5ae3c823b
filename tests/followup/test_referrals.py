"""Referrals: the status machine transition by transition, the partner's signed link,
expiry and reminders, notifications, and the indicators they feed."""

import datetime
import re

import pytest
from django.core import mail, signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from lien.core.models import AuditAction, AuditEvent
from lien.followup import links, services
from lien.followup.models import (
    REFERRAL_TRANSITIONS,
    Referral,
    ReferralResult,
    ReferralStatus,
)
from lien.indicators import engine
from lien.notifications.models import Notification
from lien.referentiel.models import RequestTheme
from lien.territories.models import Territory

pytestmark = pytest.mark.django_db

S = ReferralStatus


def refer(team, **overrides):
    data = {
        "service": team["service"],
        "partner": team["caf"],
        "theme": RequestTheme.objects.get(code="prestations-sociales"),
        "commune": Territory.objects.get(level="commune", code="59512"),
        "person": "Mme K.",
        "request": "Dossier de prestations bloqué depuis deux mois, pièces déjà envoyées.",
    }
    data.update(overrides)
    return services.referral_create(actor=team["mediator"], data=data)


def test_creating_a_referral_tells_the_partner_in_app_and_by_a_signed_link(
    team, login, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        referral = refer(team)
    assert referral.status == S.SENT
    assert referral.expires_on == timezone.localdate() + datetime.timedelta(days=30)
    assert Notification.objects.filter(recipient=team["partner"].user).count() == 1
    [message] = [m for m in mail.outbox if m.to == ["accueil@caf.example"]]
    assert [m.to for m in mail.outbox if m is not message] == [[team["partner"].user.email]]
    link = re.search(r"http://\S+(/orientation/\S+/)", message.body).group(1)
    assert link.startswith(f"/orientation/{referral.pk}/")
    # The link opens this referral only, with only what it needs.
    response = login(team["mediator_b"]).get(link)  # anyone holding the link, even logged in
    page = response.content.decode()
    assert response.status_code == 200
    assert "Mme K." in page and "Dossier de prestations" in page
    assert team["structure"].name in page
    assert "Journal" not in page and "Suivis" not in page


ALL = list(S)


@pytest.mark.parametrize(
    ("start", "target"),
    [(a, b) for a in ALL for b in ALL if a != b],
)
def test_every_transition_is_allowed_or_refused_as_the_machine_says(team, start, target):
    referral = refer(team)
    Referral.objects.filter(pk=referral.pk).update(status=start)
    referral.refresh_from_db()
    allowed = target in REFERRAL_TRANSITIONS[start]
    if target in (S.SENT, S.SEEN, S.EXPIRED):
        return  # not answers: reached by creation, by opening, by the daily job (tested apart)
    kwargs = {"refusal_reason": "Hors de nos missions", "result": ReferralResult.SOLVED}
    if allowed:
        services.referral_answer(actor=team["partner"], referral=referral, to=target, **kwargs)
        referral.refresh_from_db()
        assert referral.status == target
    else:
        with pytest.raises(ValidationError):
            services.referral_answer(actor=team["partner"], referral=referral, to=target, **kwargs)
        referral.refresh_from_db()
        assert referral.status == start


def test_a_refusal_needs_a_reason_and_a_done_needs_a_result(team):
    referral = refer(team)
    with pytest.raises(ValidationError):
        services.referral_answer(actor=team["partner"], referral=referral, to=S.REFUSED)
    services.referral_answer(actor=team["partner"], referral=referral, to=S.ACCEPTED)
    with pytest.raises(ValidationError):
        services.referral_answer(actor=team["partner"], referral=referral, to=S.DONE)
    assert Referral.objects.get(pk=referral.pk).status == S.ACCEPTED


def test_only_the_addressed_partner_answers_from_its_account(team):
    referral = refer(team)
    for actor in ("other_partner", "mediator", "coordinator", "landlord_member"):
        with pytest.raises(PermissionDenied):
            services.referral_answer(actor=team[actor], referral=referral, to=S.ACCEPTED)


def test_the_answer_reaches_the_mediator(team, login):
    referral = refer(team)
    client = login(team["partner"])
    assert client.get(reverse("followup:referral_detail", args=[referral.pk])).status_code == 200
    referral.refresh_from_db()
    assert referral.status == S.SEEN and referral.seen_at is not None
    response = client.post(
        reverse("followup:referral_detail", args=[referral.pk]),
        {"status": S.REFUSED, "refusal_reason": ""},
    )
    assert "Indiquez le motif du refus" in response.content.decode()
    client.post(
        reverse("followup:referral_detail", args=[referral.pk]),
        {"status": S.REFUSED, "refusal_reason": "Relève de la CPAM"},
    )
    referral.refresh_from_db()
    assert referral.status == S.REFUSED and referral.refusal_reason == "Relève de la CPAM"
    note = Notification.objects.get(recipient=team["mediator"].user, kind="referral_answered")
    assert "refusée" in note.title
    page = login(team["mediator"]).get(reverse("followup:referral_detail", args=[referral.pk]))
    assert "Relève de la CPAM" in page.content.decode()


# --- the signed link ------------------------------------------------------------------------


def link_of(referral):
    return services.referral_link(referral, absolute=False)


def test_answering_through_the_link(client, team):
    referral = refer(team)
    url = link_of(referral)
    assert client.get(url).status_code == 200
    response = client.post(url, {"status": S.ACCEPTED})
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.status == S.ACCEPTED
    # The same link then records the result, and stops working once done.
    response = client.post(url, {"status": S.DONE, "result": ReferralResult.SOLVED})
    assert response.status_code == 200 and "Merci" in response.content.decode()
    referral.refresh_from_db()
    assert referral.status == S.DONE and referral.result == ReferralResult.SOLVED
    assert client.get(url).status_code == 403
    events = AuditEvent.objects.filter(object_id=str(referral.pk), action=AuditAction.UPDATE)
    assert all("lien signé" in e.note for e in events)


def test_a_link_for_one_referral_does_not_open_another(client, team):
    first, second = refer(team), refer(team, person="M. T.")
    token = links.make_token(first)
    response = client.get(reverse("followup:referral_link", args=[second.pk, token]))
    assert response.status_code == 403
    assert "ne correspond pas" in response.content.decode()
    response = client.post(
        reverse("followup:referral_link", args=[second.pk, token]), {"status": S.ACCEPTED}
    )
    assert response.status_code == 403
    assert Referral.objects.get(pk=second.pk).status == S.SENT


def test_a_tampered_link_is_refused(client, team):
    referral = refer(team)
    token = links.make_token(referral)
    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "x" + token, "abc"):
        response = client.get(reverse("followup:referral_link", args=[referral.pk, bad]))
        assert response.status_code == 403
    # A token signed for another purpose (same key, other salt) is refused too.
    other = signing.dumps({"r": str(referral.pk), "n": referral.link_nonce}, salt="autre")
    assert (
        client.get(reverse("followup:referral_link", args=[referral.pk, other])).status_code == 403
    )
    assert Referral.objects.get(pk=referral.pk).status == S.SENT


def test_an_expired_link_is_refused(client, team):
    referral = refer(team)
    url = link_of(referral)
    with override_settings(LIEN_REFERRAL_LINK_DAYS=-1):
        response = client.get(url)
    assert response.status_code == 403
    assert "expiré" in response.content.decode()


def test_a_new_link_revokes_the_previous_one(client, team):
    referral = refer(team)
    old = link_of(referral)
    services.referral_resend_link(actor=team["mediator"], referral=referral)
    referral.refresh_from_db()
    assert client.get(old).status_code == 403
    assert client.get(link_of(referral)).status_code == 200


def test_an_unknown_referral_is_404(client, team):
    import uuid

    assert (
        client.get(reverse("followup:referral_link", args=[uuid.uuid4(), "x"])).status_code == 404
    )


# --- expiry, reminders ------------------------------------------------------------------------


def test_reminder_before_expiry_then_expiry(team, django_capture_on_commit_callbacks):
    referral = refer(team)
    answered = refer(team, person="M. A.")
    services.referral_answer(actor=team["partner"], referral=answered, to=S.ACCEPTED)
    services.referral_answer(
        actor=team["partner"], referral=answered, to=S.DONE, result=ReferralResult.PARTLY
    )
    mail.outbox.clear()
    early = referral.expires_on - datetime.timedelta(days=10)
    assert services.referrals_remind(today=early) == 0
    near = referral.expires_on - datetime.timedelta(days=2)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.referrals_remind(today=near) == 1
        assert services.referrals_remind(today=near) == 0  # once only
    reminders = [m for m in mail.outbox if m.to == ["accueil@caf.example"]]
    assert [m.subject.startswith("Rappel") for m in reminders] == [True]
    assert services.referrals_expire(today=referral.expires_on) == 0
    assert services.referrals_expire(today=referral.expires_on + datetime.timedelta(days=1)) == 1
    referral.refresh_from_db()
    assert referral.status == S.EXPIRED and referral.link_nonce == ""
    assert Notification.objects.filter(kind="referral_expired").count() == 1
    assert Referral.objects.get(pk=answered.pk).status == S.DONE


def test_referrals_feed_the_success_rate_and_the_share_without_answer(team):
    done = refer(team)
    services.referral_answer(actor=team["partner"], referral=done, to=S.ACCEPTED)
    services.referral_answer(
        actor=team["partner"], referral=done, to=S.DONE, result=ReferralResult.SOLVED
    )
    refused = refer(team)
    services.referral_answer(
        actor=team["partner"], referral=refused, to=S.REFUSED, refusal_reason="Hors champ"
    )
    refer(team)  # no answer yet
    silent = refer(team)
    Referral.objects.filter(pk=silent.pk).update(status=S.EXPIRED)
    month = timezone.localdate().replace(day=1)
    perimeter = engine.Perimeter(start=month, end=month, structure_ids=(str(team["structure"].pk),))
    assert engine.measure_value("referrals", perimeter) == 4
    assert engine.measure_value("referrals_done", perimeter) == 1
    assert engine.measure_value("referrals_unanswered", perimeter) == 2
    assert engine.measure_value("partners_mobilised", perimeter) == 1
    other = engine.Perimeter(start=month, end=month, structure_ids=(str(team["structure_b"].pk),))
    assert engine.measure_value("referrals", other) == 0


def test_contact_details_need_the_persons_consent(team):
    with pytest.raises(ValidationError):
        refer(team, callback="06 12 34 56 78", callback_consent=False)
    referral = refer(team, callback="06 12 34 56 78", callback_consent=True)
    event = AuditEvent.objects.get(object_id=str(referral.pk), action=AuditAction.CREATE)
    assert "06 12 34 56 78" not in str(event.after)  # the journal keeps no contact detail


def test_call_back_details_are_erased_30_days_after_closing(team, capsys):
    from django.core.management import call_command

    referral = refer(team, callback="06 12 34 56 78", callback_consent=True)
    services.referral_answer(
        actor=team["partner"], referral=referral, to=S.REFUSED, refusal_reason="Hors champ"
    )
    referral.refresh_from_db()
    closed = timezone.localdate()
    assert services.referrals_forget_callbacks(today=closed + datetime.timedelta(days=29)) == 0
    assert Referral.objects.get(pk=referral.pk).callback == "06 12 34 56 78"
    later = closed + datetime.timedelta(days=31)
    assert services.referrals_forget_callbacks(today=later) == 1
    assert Referral.objects.get(pk=referral.pk).callback == ""
    call_command("followup_daily")  # the erasure is a retention rule now (apply_retention)
    out = capsys.readouterr().out
    assert "Mises en relation expirées : 0" in out and "Coordonnées de rappel" not in out


def test_showing_call_back_details_is_journaled(client, team, login):
    referral = refer(team, callback="06 12 34 56 78", callback_consent=True)
    login(team["mediator"]).get(reverse("followup:referral_detail", args=[referral.pk]))
    reads = AuditEvent.objects.filter(action=AuditAction.READ, object_id=str(referral.pk))
    assert reads.filter(note="Lecture des coordonnées de rappel").count() == 1
    token = links.make_token(referral)
    client.logout()
    client.get(reverse("followup:referral_link", args=[referral.pk, token]))
    assert reads.filter(note__endswith="(lien signé)").count() == 1
