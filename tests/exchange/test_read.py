"""Read endpoints: each answers its happy path, scoped exactly as the pages are.

Structure A's tokens never see B's interventions, situations or referrals (lists and
details: 404); funders and steering get no interventions, situations or referrals at all;
names and contact details of people never leave through the API.
"""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.exchange.conftest import B_SECRETS, CALLBACK, CONTACT, NAMES, assert_error_shape, log

pytestmark = pytest.mark.django_db


def ids(response) -> set[str]:
    assert response.status_code == 200, response.content[:500]
    return {row["id"] for row in response.json()["results"]}


def test_me(world, api):
    body = api(world["m"]["coordinator"]).get("/api/moi/").json()
    assert body["membership"]["role"] == "coordinator"
    assert body["membership"]["structure_id"] == str(world["a"].pk)
    assert body["token"]["scope"] == "read"
    assert len(body["token"]["key_prefix"]) == 8


def test_referentiel(world, api):
    client = api(world["m"]["partner"])
    vocabularies = client.get("/api/referentiel/").json()
    keys = {v["key"] for v in vocabularies}
    assert {"activity_types", "domains", "outcomes", "request_themes"} <= keys
    activities = client.get("/api/referentiel/activity_types/", {"page_size": 500}).json()
    assert activities["count"] == 9
    conflicts = next(a for a in activities["results"] if a["code"] == "gestion-conflits")
    assert "outcome" in conflicts["entry_fields"]
    outcomes = client.get("/api/referentiel/outcomes/").json()["results"]
    assert all(o["family"] for o in outcomes)
    assert client.get("/api/referentiel/domains/", {"active": "false"}).json()["count"] == 0


def test_territories_by_level_parent_and_within(world, api):
    t = world["territories"]
    client = api(world["m"]["mediator"])
    communes = client.get("/api/territoires/", {"level": "commune"}).json()
    assert {c["code"] for c in communes["results"]} == {"59350", "59512", "62041"}
    children = client.get("/api/territoires/", {"parent": t["mel"].pk}).json()["results"]
    assert {c["code"] for c in children} == {"59350", "59512"}
    within = client.get("/api/territoires/", {"within": t["nord"].pk, "level": "qpv"}).json()
    assert [q["code"] for q in within["results"]] == ["QX05901D"]
    one = client.get("/api/territoires/", {"code": "qx05901d"}).json()["results"]
    assert one[0]["parent_id"] == t["roubaix"].pk


@pytest.mark.parametrize(
    ("key", "sees_a", "sees_b"),
    [
        ("mediator", True, False),
        ("coordinator", True, False),
        ("funder", True, False),
        ("steering", True, False),
        ("partner", False, False),
        ("admin", True, True),
    ],
)
def test_structures_and_services_are_scoped_like_the_pages(world, api, key, sees_a, sees_b):
    client = api(world["m"][key])
    a, b = str(world["a"].pk), str(world["b"].pk)
    assert ids(client.get("/api/structures/")) == {x for x, ok in ((a, sees_a), (b, sees_b)) if ok}
    service_a, service_b = str(world["service_a"].pk), str(world["service_b"].pk)
    expected = {x for x, ok in ((service_a, sees_a), (service_b, sees_b)) if ok}
    assert ids(client.get("/api/dispositifs/")) == expected
    assert client.get(f"/api/structures/{b}/").status_code == (200 if sees_b else 404)
    assert client.get(f"/api/dispositifs/{service_b}/").status_code == (200 if sees_b else 404)
    if sees_a:
        detail = client.get(f"/api/dispositifs/{service_a}/").json()
        assert detail["commissioning_bodies"][0]["name"] == "Financeur Alpha"
        assert detail["territories"][0]["code"] == "200093201"
        assert client.get(f"/api/structures/{a}/").json()["commune"] == "59512"


def test_service_filters(world, api):
    client = api(world["m"]["admin"])
    a, b = str(world["service_a"].pk), str(world["service_b"].pk)
    assert ids(client.get("/api/dispositifs/", {"commune": "59350"})) == {a}  # Lille, in the MEL
    assert ids(client.get("/api/dispositifs/", {"commune": "62041"})) == {b}
    assert ids(client.get("/api/dispositifs/", {"structure": str(world["b"].pk)})) == {b}
    assert ids(client.get("/api/dispositifs/", {"end": "2024-12-31"})) == set()
    assert ids(client.get("/api/structures/", {"commune": "62041"})) == {str(world["b"].pk)}


def test_interventions_of_my_structure_only(world, api):
    client = api(world["m"]["mediator"])
    mine = {str(i.pk) for i in world["interventions_a"]}
    response = client.get("/api/interventions/")
    assert ids(response) == mine
    for secret in B_SECRETS:
        assert secret not in response.content.decode()
    first = response.json()["results"][0]
    assert first["commune"] == "59512" and first["qpv"] == "QX05901D"
    assert first["activity_type"] == "gestion-conflits"
    assert first["mediators"] == [world["m"]["mediator"].user_id]
    one = world["interventions_a"][0]
    assert client.get(f"/api/interventions/{one.pk}/").json()["id"] == str(one.pk)
    for other in world["interventions_b"]:
        assert_error_shape(client.get(f"/api/interventions/{other.pk}/"), 404)


def test_intervention_filters(world, api):
    client = api(world["m"]["coordinator"])
    older = log(
        world["m"]["mediator"],
        world["service_a"],
        commune="59350",
        when=timezone.localtime() - datetime.timedelta(days=40),
    )
    today = timezone.localdate()
    recent = {str(i.pk) for i in world["interventions_a"]}
    assert (
        ids(client.get("/api/interventions/", {"start": str(today - datetime.timedelta(days=1))}))
        == recent
    )
    assert ids(
        client.get("/api/interventions/", {"end": str(today - datetime.timedelta(days=30))})
    ) == {str(older.pk)}
    assert ids(client.get("/api/interventions/", {"commune": "59350"})) == {str(older.pk)}
    assert ids(client.get("/api/interventions/", {"service": str(world["service_b"].pk)})) == set()
    assert len(ids(client.get("/api/interventions/", {"activity_type": "gestion-conflits"}))) == 3
    assert ids(client.get("/api/interventions/", {"domain": "milieu-scolaire"})) == set()
    theirs = log(world["m"]["mediator2"], world["service_a"], commune="59512")
    assert str(theirs.pk) in ids(client.get("/api/interventions/"))
    mine = api(world["m"]["mediator"]).get("/api/interventions/", {"mine": "true"})
    assert ids(mine) == recent | {str(older.pk)}


def test_pagination(world, api):
    client = api(world["m"]["coordinator"])
    page1 = client.get("/api/interventions/", {"page_size": 1}).json()
    page2 = client.get("/api/interventions/", {"page_size": 1, "page": 2}).json()
    assert (page1["count"], page1["pages"], len(page1["results"])) == (2, 2, 1)
    assert page1["results"][0]["id"] != page2["results"][0]["id"]
    beyond = client.get("/api/interventions/", {"page_size": 1, "page": 999999}).json()
    assert beyond["results"] == [] and beyond["count"] == 2


def test_lists_filter_by_a_territory_of_any_level(world, api):
    t = world["territories"]
    client = api(world["m"]["coordinator"])

    def count(route, **params):
        response = client.get(route, params)
        assert response.status_code == 200, response.content
        return response.json()["count"]

    # A's two entries are in Roubaix (Nord, MEL), in a QPV.
    for place, expected in (("nord", 2), ("mel", 2), ("roubaix", 2), ("qpv", 2), ("pdc", 0),
                            ("arras", 0), ("region", 2)):  # fmt: skip
        assert count("/api/interventions/", territory=t[place].pk) == expected, place
    assert count("/api/structures/", territory=t["nord"].pk) >= 1
    assert count("/api/dispositifs/", territory=t["roubaix"].pk) == 1  # covered by the MEL
    assert count("/api/dispositifs/", territory=t["region"].pk) == 1  # works inside it
    assert count("/api/dispositifs/", territory=t["pdc"].pk) == 0
    # A place the records cannot have, an unknown one, or two at once: named errors.
    cases = [("/api/structures/", {"territory": t["qpv"].pk}),
             ("/api/interventions/", {"territory": 2**40}),
             ("/api/interventions/", {"territory": t["nord"].pk, "commune": "59512"})]  # fmt: skip
    for route, params in cases:
        response = client.get(route, params)
        assert response.status_code == 422, (route, params, response.status_code)
        assert {e["field"] for e in response.json()["errors"]} == {"territory"}


def test_list_queries_do_not_grow_with_rows(world, api):
    client = api(world["m"]["coordinator"])
    client.get("/api/interventions/")  # warm the token's last use
    with CaptureQueriesContext(connection) as few:
        client.get("/api/interventions/")
    for _ in range(5):
        log(world["m"]["mediator"], world["service_a"], commune="59512")
    with CaptureQueriesContext(connection) as more:
        assert client.get("/api/interventions/").json()["count"] == 7
    assert len(more) == len(few)


@pytest.mark.parametrize("key", ["funder", "steering", "partner", "admin"])
def test_other_roles_get_no_interventions_nor_situations(world, api, key):
    """Funders and steering read indicators; the pages refuse them the log and the
    follow-up, and so does the API (admins, too, as on the pages)."""
    client = api(world["m"][key])
    one = world["interventions_a"][0]
    situation = world["followup_a"]["situation"]
    for path in (
        "/api/interventions/",
        f"/api/interventions/{one.pk}/",
        "/api/suivis/",
        f"/api/suivis/{situation.pk}/",
    ):
        assert_error_shape(client.get(path), 403)


@pytest.mark.parametrize("key", ["funder", "steering", "admin"])
def test_funders_and_steering_get_no_referrals(world, api, key):
    client = api(world["m"][key])
    referral = world["followup_a"]["referral"]
    assert_error_shape(client.get("/api/orientations/"), 403)
    assert_error_shape(client.get(f"/api/orientations/{referral.pk}/"), 403)


def test_situations_without_names_or_contact(world, api):
    client = api(world["m"]["mediator"])
    situation_a = world["followup_a"]["situation"]
    response = client.get("/api/suivis/")
    assert ids(response) == {str(situation_a.pk)}
    body = response.content.decode()
    for secret in (NAMES, CONTACT, *B_SECRETS, "Conflit de voisinage9"):
        assert secret not in body
    row = response.json()["results"][0]
    assert row["is_nominative"] is True and row["initials"] == "M. X."
    assert "names" not in row and "contact" not in row
    detail = client.get(f"/api/suivis/{situation_a.pk}/")
    assert NAMES not in detail.content.decode() and CONTACT not in detail.content.decode()
    assert_error_shape(client.get(f"/api/suivis/{world['followup_b']['situation'].pk}/"), 404)
    assert ids(client.get("/api/suivis/", {"status": "closed"})) == set()
    assert ids(client.get("/api/suivis/", {"commune": "62041"})) == set()


def test_referrals_for_the_structure_and_for_the_partner(world, api):
    referral_a = world["followup_a"]["referral"]
    referral_b = world["followup_b"]["referral"]
    for key in ("mediator", "partner"):
        client = api(world["m"][key])
        response = client.get("/api/orientations/")
        assert ids(response) == {str(referral_a.pk)}, key
        assert CALLBACK not in response.content.decode()
        assert "callback" not in response.json()["results"][0]
        assert client.get(f"/api/orientations/{referral_a.pk}/").json()["person"] == "M. X."
        assert_error_shape(client.get(f"/api/orientations/{referral_b.pk}/"), 404)
    # Reading through the API does not mark the referral as seen.
    referral_a.refresh_from_db()
    assert referral_a.status == "sent" and referral_a.seen_at is None
    client = api(world["m"]["coordinator"])
    assert ids(client.get("/api/orientations/", {"status": "done"})) == set()
    assert ids(client.get("/api/orientations/", {"start": "2030-01-01"})) == set()
