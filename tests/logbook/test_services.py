import datetime
import uuid

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from lien.core.models import AuditEvent, Role
from lien.logbook import services
from lien.logbook.forms import InterventionForm
from lien.logbook.models import Intervention
from tests.factories import ServiceFactory, make_membership

pytestmark = pytest.mark.django_db


def form_for(team, data, author=None):
    return InterventionForm.from_payload(
        data, structure=team["structure"], author=(author or team["mediator"]).user
    )


def test_a_valid_entry_is_created_with_the_pair_and_journaled(team, payload):
    form = form_for(team, payload())
    assert form.is_valid(), form.errors
    intervention = services.intervention_create(
        actor=team["mediator"], data=form.intervention_data()
    )
    assert set(intervention.mediators.values_list("pk", flat=True)) == {
        team["mediator"].user_id,
        team["partner_mediator"].user_id,
    }
    assert intervention.qpv.code == "QX05901D"
    assert AuditEvent.objects.filter(action="create", object_id=str(intervention.pk)).exists()


def test_access_requests_are_counted_apart_from_people(team, payload):
    form = form_for(
        team,
        payload(
            activity_type="mise-en-relation",
            timing="",
            form="",
            people_met=1,
            access_requests=[
                {"theme": "numerique", "count": 2},
                {"theme": "energie-eau", "count": 1},
            ],
        ),
    )
    assert form.is_valid(), form.errors
    intervention = services.intervention_create(
        actor=team["mediator"], data=form.intervention_data()
    )
    assert intervention.people_met == 1
    assert intervention.requests_count == 3


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"activity_type": "inconnue"}, "activity_type", "Code inconnu"),
        ({"commune": "99999"}, "commune", "Commune inconnue"),
        ({"qpv": "QX06249D"}, "qpv", "inconnu"),
        ({"people_met": -1}, "people_met", "supérieure ou égale à 0"),
        ({"duration_minutes": 0}, "duration_minutes", "supérieure ou égale à 1"),
        ({"started_at": "2099-01-01T10:00"}, "started_at", "futur"),
        ({"started_at": "2001-01-01T10:00"}, "started_at", "plus d'un an"),
        ({"activity_type": "veille-technique"}, "timing", "Sans objet"),
        ({"note": "Mme Martin au 06 12 34 56 78"}, "note", "numéro de téléphone"),
        ({"mediators": [999999]}, "mediators", "n'est pas membre"),
        ({"access_requests": [{"theme": "astrologie", "count": 1}]}, "__all__", "astrologie"),
    ],
)
def test_bad_input_names_the_field(team, payload, overrides, field, message):
    form = form_for(team, payload(**overrides))
    assert not form.is_valid()
    errors = form.errors.get_json_data()
    assert field in errors, errors
    assert any(message in e["message"] for e in errors[field]), errors[field]


def test_a_qpv_must_cover_the_commune(team, payload, territories):
    form = form_for(team, payload(commune="59350"))  # Lille; the QPV is in Roubaix
    assert not form.is_valid()
    assert "ne couvre pas" in form.errors["qpv"][0]


def test_a_flagged_note_is_kept_when_confirmed(team, payload):
    form = form_for(team, payload(note="Voisin malade, relais CCAS", note_confirmed=True))
    assert form.is_valid(), form.errors
    intervention = services.intervention_create(
        actor=team["mediator"], data=form.intervention_data()
    )
    assert intervention.note_warnings == ["health"]


def test_a_mediator_of_another_structure_cannot_be_named(team, payload):
    stranger = make_membership(Role.MEDIATOR)
    form = form_for(team, payload(mediators=[stranger.user_id]))
    assert not form.is_valid()


def test_another_structures_service_is_refused(team, payload):
    other = ServiceFactory()
    form = form_for(team, payload(service=str(other.pk)))
    assert not form.is_valid()
    assert "service" in form.errors


@pytest.mark.parametrize("role", [Role.FUNDER, Role.PARTNER, Role.STEERING, Role.ADMIN])
def test_only_structure_roles_log(team, payload, role):
    form = form_for(team, payload())
    assert form.is_valid()
    with pytest.raises(PermissionDenied):
        services.intervention_create(actor=make_membership(role), data=form.intervention_data())


def make_entry(team, payload, author="mediator", **overrides):
    form = form_for(team, payload(**overrides), author=team[author])
    assert form.is_valid(), form.errors
    return services.intervention_create(actor=team[author], data=form.intervention_data())


def test_corrections_are_versioned_and_journaled(team, payload):
    entry = make_entry(team, payload)
    form = form_for(team, payload(people_met=5))
    assert form.is_valid()
    services.intervention_update(
        actor=team["mediator"], intervention=entry, data=form.intervention_data(), base_version=1
    )
    entry.refresh_from_db()
    assert (entry.people_met, entry.version) == (5, 2)
    event = AuditEvent.objects.get(action="update", object_id=str(entry.pk))
    assert event.before == {"people_met": 2, "updated_at": event.before["updated_at"], "version": 1}
    assert event.after["people_met"] == 5


def test_a_stale_edit_is_a_conflict_not_an_overwrite(team, payload):
    entry = make_entry(team, payload)
    data = form_for(team, payload(people_met=7))
    data.is_valid()
    services.intervention_update(
        actor=team["coordinator"], intervention=entry, data=data.intervention_data()
    )
    late = form_for(team, payload(people_met=3))
    late.is_valid()
    with pytest.raises(services.ConflictError):
        services.intervention_update(
            actor=team["mediator"],
            intervention=entry,
            data=late.intervention_data(),
            base_version=1,
        )
    entry.refresh_from_db()
    assert entry.people_met == 7


def test_mediators_correct_only_within_the_window(team, payload):
    entry = make_entry(team, payload)
    assert services.can_correct(team["mediator"], entry)
    assert services.can_correct(team["partner_mediator"], entry)  # in the pair
    Intervention.objects.filter(pk=entry.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=30)
    )
    entry.refresh_from_db()
    assert not services.can_correct(team["mediator"], entry)
    assert services.can_correct(team["coordinator"], entry)
    outsider = make_membership(Role.COORDINATOR)
    assert not services.can_correct(outsider, entry)


def test_intervention_ids_from_devices_are_kept(team, payload):
    chosen = uuid.uuid4()
    form = form_for(team, payload())
    form.is_valid()
    entry = services.intervention_create(
        actor=team["mediator"], data=form.intervention_data(), intervention_id=chosen
    )
    assert entry.pk == chosen
