import json
import uuid

import pytest

from lien.logbook.models import Intervention

pytestmark = pytest.mark.django_db


def post(client, entries):
    return client.post(
        "/journal-de-bord/sync/",
        data=json.dumps({"entries": entries}),
        content_type="application/json",
    )


def test_sending_the_same_batch_twice_creates_nothing_twice(team, payload, login):
    client = login(team["mediator"])
    batch = [{"id": str(uuid.uuid4()), "data": payload(people_met=n)} for n in range(1, 4)]
    first = post(client, batch).json()["results"]
    assert [r["status"] for r in first] == ["created"] * 3
    again = post(client, batch).json()["results"]
    assert [r["status"] for r in again] == ["already_synced"] * 3
    assert Intervention.objects.count() == 3


def test_a_batch_cut_off_halfway_can_be_resent_whole(team, payload, login):
    client = login(team["mediator"])
    batch = [{"id": str(uuid.uuid4()), "data": payload()} for _ in range(4)]
    post(client, batch[:2])  # the connection dropped after two entries
    results = post(client, batch).json()["results"]
    assert [r["status"] for r in results] == ["already_synced"] * 2 + ["created"] * 2
    assert Intervention.objects.count() == 4


def test_each_entry_gets_its_own_answer(team, payload, login):
    client = login(team["mediator"])
    good, bad = str(uuid.uuid4()), str(uuid.uuid4())
    results = post(
        client,
        [
            {"id": good, "data": payload()},
            {"id": bad, "data": payload(commune="00000", people_met="beaucoup")},
            {"id": "pas-un-uuid", "data": payload()},
            "n'importe quoi",
        ],
    ).json()["results"]
    assert results[0]["status"] == "created"
    assert results[1]["status"] == "invalid"
    assert set(results[1]["errors"]) == {"commune", "people_met"}
    assert results[2] == {
        "id": "pas-un-uuid",
        "status": "invalid",
        "errors": {"id": ["UUID attendu."]},
    }
    assert results[3]["status"] == "invalid"
    assert Intervention.objects.count() == 1


def test_an_offline_edit_of_a_changed_entry_is_a_conflict(team, payload, login):
    mediator = login(team["mediator"])
    entry_id = str(uuid.uuid4())
    post(mediator, [{"id": entry_id, "data": payload(people_met=2)}])
    # the mediator edits offline from version 1 while the coordinator corrects on the server
    coordinator = login(team["coordinator"])
    assert (
        post(
            coordinator, [{"id": entry_id, "base_version": 1, "data": payload(people_met=4)}]
        ).json()["results"][0]["status"]
        == "updated"
    )
    mediator = login(team["mediator"])
    result = post(
        mediator, [{"id": entry_id, "base_version": 1, "data": payload(people_met=9)}]
    ).json()["results"][0]
    assert result["status"] == "conflict"
    assert result["version"] == 2
    assert result["server"]["people_met"] == 4
    assert Intervention.objects.get(pk=entry_id).people_met == 4


@pytest.mark.parametrize("body", [b"", b"{not json", b"[]", b'{"entries": 3}', b'{"entries": [1]}'])
def test_malformed_bodies_get_a_4xx_or_per_entry_error_never_500(team, login, body):
    client = login(team["mediator"])
    response = client.post("/journal-de-bord/sync/", data=body, content_type="application/json")
    assert response.status_code in {200, 400}
    if response.status_code == 200:
        assert response.json()["results"][0]["status"] == "invalid"


def test_oversized_batches_are_refused(team, payload, login):
    client = login(team["mediator"])
    batch = [{"id": str(uuid.uuid4()), "data": payload()} for _ in range(1001)]
    assert post(client, batch).status_code == 413
    assert Intervention.objects.count() == 0
