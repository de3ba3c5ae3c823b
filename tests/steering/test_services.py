"""The write path of steering: who may write what, validation, journal."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from lien.core.models import AuditEvent
from lien.steering import services
from lien.steering.models import Decision, Report, SteeringMeeting
from tests.steering.factories import indicator

pytestmark = pytest.mark.django_db

D = datetime.date


def agreement_data(territory, **extra):
    data = {"title": "Convention", "territory": territory, "starts_on": D(2026, 1, 1),
            "ends_on": D(2028, 12, 31), "job_target": 300}  # fmt: skip
    data.update(extra)
    return data


def test_steering_records_an_agreement_of_its_territory_and_it_is_journaled(steering):
    agreement = services.agreement_create(
        actor=steering["steering"], data=agreement_data(steering["territories"]["nord"])
    )
    assert agreement.job_target == 300
    assert AuditEvent.objects.filter(object_id=str(agreement.pk), action="create").exists()


@pytest.mark.parametrize("actor", ["steering_62", "coordinator", "city_member", "mediator"])
def test_no_one_else_records_an_agreement_for_the_nord(steering, actor):
    with pytest.raises(PermissionDenied):
        services.agreement_create(
            actor=steering[actor], data=agreement_data(steering["territories"]["nord"])
        )


def test_an_agreement_cannot_be_moved_outside_ones_territory(steering):
    agreement = services.agreement_create(
        actor=steering["steering_62"], data=agreement_data(steering["territories"]["pdc"])
    )
    with pytest.raises(PermissionDenied):
        services.agreement_update(
            actor=steering["steering_62"],
            agreement=agreement,
            data={"territory": steering["territories"]["nord"]},
        )


@pytest.mark.parametrize(
    ("field", "value"), [("ends_on", D(2025, 12, 31)), ("job_target", 0), ("title", "<b>x</b>")]
)
def test_bad_agreements_are_refused_with_the_field_named(steering, field, value):
    with pytest.raises(ValidationError) as caught:
        services.agreement_create(
            actor=steering["steering"],
            data=agreement_data(steering["territories"]["nord"], **{field: value}),
        )
    assert field in caught.value.message_dict or "__all__" in caught.value.message_dict


def test_a_target_is_set_once_per_indicator_and_can_change(steering):
    agreement = steering["agreement"]
    definition = indicator()
    services.agreement_target_set(
        actor=steering["steering"], agreement=agreement, indicator=definition, value=70
    )
    services.agreement_target_set(
        actor=steering["steering"], agreement=agreement, indicator=definition, value=75
    )
    assert [t.value for t in agreement.targets.all()] == [75]
    with pytest.raises(PermissionDenied):
        services.agreement_target_set(
            actor=steering["steering_62"], agreement=agreement, indicator=definition, value=1
        )


def test_closing_a_decision_dates_it_and_reopening_clears_the_date(steering):
    meeting = services.meeting_create(
        actor=steering["steering"], agreement=steering["agreement"],
        data={"held_on": D(2026, 6, 1), "kind": "steering"},
    )  # fmt: skip
    decision = services.decision_create(
        actor=steering["steering"], meeting=meeting,
        data={"text": "Étudier le groupement", "owner": "Mission d'appui",
              "due_on": D(2026, 9, 30)},
    )  # fmt: skip
    decision = services.decision_update(
        actor=steering["steering"], decision=decision, data={"status": "done"}
    )
    assert decision.closed_on is not None
    decision = services.decision_update(
        actor=steering["steering"], decision=decision, data={"status": "open"}
    )
    assert decision.closed_on is None
    # The constraint holds even if someone bypasses the service.
    with pytest.raises(ValidationError):
        Decision(meeting=meeting, text="x", owner="y", status="done").full_clean()


def test_a_meeting_knows_the_previous_one(steering):
    kw = {"actor": steering["steering"], "agreement": steering["agreement"]}
    first = services.meeting_create(**kw, data={"held_on": D(2026, 1, 10), "kind": "steering"})
    services.meeting_create(**kw, data={"held_on": D(2026, 3, 1), "kind": "technical"})
    second = services.meeting_create(**kw, data={"held_on": D(2026, 6, 10), "kind": "steering"})
    assert second.previous() == first
    assert first.previous() is None
    assert SteeringMeeting.objects.visible_to(steering["steering_62"]).count() == 0


def test_report_requests_follow_the_roles(steering, django_capture_on_commit_callbacks):
    period = {"start": D(2026, 1, 1), "end": D(2026, 6, 1)}
    with django_capture_on_commit_callbacks() as callbacks:
        report = services.report_request(
            actor=steering["steering"], kind="biannual",
            territory=steering["territories"]["nord"], **period,
        )  # fmt: skip
    assert len(callbacks) == 1 and report.state == "queued"
    with pytest.raises(PermissionDenied):
        services.report_request(
            actor=steering["steering_62"], kind="biannual",
            territory=steering["territories"]["nord"], **period,
        )  # fmt: skip
    funder_report = services.report_request(
        actor=steering["coordinator"], kind="funder", service=steering["service"],
        funder=steering["city"], **period,
    )  # fmt: skip
    assert funder_report.kind == "funder"
    with pytest.raises(PermissionDenied):
        services.report_request(
            actor=steering["coordinator_b"], kind="funder", service=steering["service"],
            funder=steering["city"], **period,
        )  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        services.report_request(
            actor=steering["coordinator"], kind="funder", service=steering["service"],
            funder=steering["landlord"], **period,
        )  # fmt: skip
    assert "funder" in caught.value.message_dict
    visible = Report.objects.visible_to
    assert list(visible(steering["coordinator"])) == [funder_report]
    assert list(visible(steering["steering"])) == [report]
    assert not visible(steering["steering_62"]).exists()
    assert not visible(steering["city_member"]).exists()
