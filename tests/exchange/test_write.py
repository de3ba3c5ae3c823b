"""Writes: POST /api/interventions/ goes through the entry page's form and service (same
rules, journal, roll-ups); POST /api/interventions/sync/ answers like the page's sync."""

import datetime
import uuid

import pytest
from django.utils import timezone

from lien.core.models import AuditEvent
from lien.indicators.models import ActivityCube
from lien.logbook.models import Intervention
from tests.exchange.conftest import assert_error_shape, entry_data

pytestmark = pytest.mark.django_db

URL = "/api/interventions/"
SYNC = "/api/interventions/sync/"


def test_create_an_intervention(world, api):
    client = api(world["m"]["mediator"], "write")
    before_cubes = sum(ActivityCube.objects.values_list("interventions", flat=True))
    body = entry_data(world["service_a"], commune="59512", qpv="QX05901D")
    body["mediators"] = [world["m"]["mediator2"].user_id]
    body["access_requests"] = []
    response = client.post(URL, body)
    assert response.status_code == 201, response.content
    created = response.json()
    intervention = Intervention.objects.get(pk=created["id"])
    assert intervention.source == "api"
    assert intervention.author == world["m"]["mediator"].user
    assert sorted(created["mediators"]) == sorted(
        [world["m"]["mediator"].user_id, world["m"]["mediator2"].user_id]
    )
    assert created["qpv"] == "QX05901D"
    assert AuditEvent.objects.filter(action="create", object_id=str(intervention.pk)).exists()
    after_cubes = sum(ActivityCube.objects.values_list("interventions", flat=True))
    assert after_cubes == before_cubes + 1


def test_the_client_may_choose_the_id_and_a_retry_creates_nothing(world, api):
    client = api(world["m"]["coordinator"], "write")
    chosen = uuid.uuid4()
    body = {**entry_data(world["service_a"], commune="59512"), "id": str(chosen)}
    assert client.post(URL, body).status_code == 201
    again = assert_error_shape(client.post(URL, body), 409)
    assert again["errors"][0]["field"] == "id"
    assert Intervention.objects.filter(pk=chosen).count() == 1
    # Another structure's id: the same refusal, nothing about that record.
    other = {**body, "id": str(world["interventions_b"][0].pk)}
    assert_error_shape(client.post(URL, other), 409)


def test_the_entry_pages_rules_apply(world, api):
    client = api(world["m"]["mediator"], "write")
    service = world["service_a"]
    future = (timezone.localtime() + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    cases = {
        "commune": {"commune": "00000"},
        "qpv": {"qpv": "QX05901D", "commune": "62041"},  # the QPV is not in Arras
        "started_at": {"started_at": future},
        "people_met": {"people_met": 6000},
        "activity_type": {"activity_type": "inconnue"},
        "service": {"service": str(world["service_b"].pk)},  # B's service
        "mediators": {"mediators": [world["m"]["mediator_b"].user_id]},
        "note": {"note": "Appeler M. Dupont au 06 12 34 56 78"},
        "access_requests.mairie": {"access_requests": [{"theme": "mairie", "count": 2}]},
    }
    for field, override in cases.items():
        body = {**entry_data(service, commune="59512"), **override}
        answer = assert_error_shape(client.post(URL, body), 422)
        fields = {e["field"] for e in answer["errors"]}
        if field == "access_requests.mairie":
            assert fields  # an unknown theme or a field the activity does not take
        else:
            assert field in fields, (field, answer)
    assert Intervention.objects.count() == 5  # the world's, nothing more


def test_a_flagged_note_is_kept_when_confirmed(world, api):
    client = api(world["m"]["mediator"], "write")
    body = {
        **entry_data(world["service_a"], commune="59512"),
        "note": "Appeler M. Dupont au 06 12 34 56 78",
        "note_confirmed": True,
    }
    response = client.post(URL, body)
    assert response.status_code == 201, response.content
    assert Intervention.objects.get(pk=response.json()["id"]).note_warnings


@pytest.mark.parametrize("key", ["funder", "steering", "partner", "admin"])
def test_no_write_for_other_roles(world, api, key):
    client = api(world["m"][key], "read")
    body = entry_data(world["service_a"], commune="59512")
    assert_error_shape(client.post(URL, body), 403)
    assert_error_shape(client.post(SYNC, {"entries": []}), 403)


def test_sync_answers_entry_by_entry_and_is_idempotent(world, api):
    client = api(world["m"]["mediator"], "write")
    good = str(uuid.uuid4())
    batch = [
        {"id": good, "data": entry_data(world["service_a"], commune="59512")},
        {"id": str(uuid.uuid4()), "data": entry_data(world["service_a"], commune="00000")},
        {"id": "pas-un-uuid", "data": {}},
        "n'importe quoi",
        {
            "id": str(world["interventions_b"][0].pk),
            "data": entry_data(world["service_a"], commune="59512"),
        },
    ]
    results = client.post(SYNC, {"entries": batch}).json()["results"]
    assert [r["status"] for r in results] == ["created", "invalid", "invalid", "invalid", "refused"]
    assert set(results[1]["errors"]) == {"commune"}
    again = client.post(SYNC, {"entries": batch[:1]}).json()["results"]
    assert again[0]["status"] == "already_synced"
    assert Intervention.objects.filter(pk=good).count() == 1
    assert Intervention.objects.get(pk=good).source == "api"


def test_sync_correction_and_conflict(world, api):
    mediator = api(world["m"]["mediator"], "write")
    coordinator = api(world["m"]["coordinator"], "write")
    entry_id = str(uuid.uuid4())

    def send(client, people, base_version=None):
        entry = {
            "id": entry_id,
            "data": entry_data(world["service_a"], commune="59512", people=people),
        }
        if base_version is not None:
            entry["base_version"] = base_version
        return client.post(SYNC, {"entries": [entry]}).json()["results"][0]

    assert send(mediator, 2)["status"] == "created"
    updated = send(coordinator, 4, base_version=1)
    assert updated["status"] == "updated" and updated["version"] == 2
    conflict = send(mediator, 9, base_version=1)
    assert conflict["status"] == "conflict" and conflict["server"]["people_met"] == 4


def test_sync_bounds_and_shape(world, api):
    client = api(world["m"]["mediator"], "write")
    too_many = [{"id": str(uuid.uuid4()), "data": {}}] * 1001
    answer = assert_error_shape(client.post(SYNC, {"entries": too_many}), 413)
    assert answer["errors"][0]["field"] == "entries"
    for body in ({}, {"entries": "x"}, {"entries": None}, [], "texte", 3):
        assert_error_shape(client.post(SYNC, body), 422)
    assert_error_shape(client.post(SYNC, raw="{pas du json"), 400)
    assert_error_shape(client.post(SYNC, raw="[" * 100_000 + "]" * 100_000), 400)
