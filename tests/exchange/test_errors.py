"""Bad input anywhere in the API: the JSON error shape naming the field, never a 5xx.

The operations and their parameters are read from the OpenAPI document, so an endpoint
added later is covered without editing this file.
"""

import uuid
from urllib.parse import quote

import pytest

from tests.exchange.conftest import assert_error_shape, entry_data

pytestmark = pytest.mark.django_db

BAD_VALUES = [
    "",
    "x" * 10_000,
    "a\x00b",
    "-1",
    "0",
    str(10**30),
    "1e999",
    "2026-13-45",
    "9999-12-31",
    "'; DROP TABLE core_user; --",
    "<script>alert(1)</script>",
    "[]",
    "é\u202e",
]
BAD_PATH_VALUES = ["pas-un-uuid", "1", "0" * 300, "%00", quote("é" * 50), str(uuid.uuid4())]


def operations(client):
    doc = client.get("/api/openapi.json").json()
    for route, methods in doc["paths"].items():
        for method, operation in methods.items():
            yield route, method, operation


def fill_path(route: str, value: str) -> str:
    import re

    return re.sub(r"\{[^}]+\}", value, route)


def check(response):
    assert response.status_code < 500, (response.status_code, response.content[:300])
    if response.status_code >= 400:
        return assert_error_shape(response)
    assert response["Content-Type"].startswith("application/json")
    return response.json()


@pytest.mark.parametrize("key", ["coordinator", "funder", "admin"])
def test_every_query_parameter_refuses_bad_values_cleanly(world, api, key):
    client = api(world["m"][key])
    valid_path = {"vocabulary": "domains"}
    checked = 0
    for route, method, operation in operations(client):
        if method != "get":
            continue
        path = route
        for name, value in valid_path.items():
            path = path.replace("{" + name + "}", value)
        if "{" in path:
            path = fill_path(path, str(uuid.uuid4()))
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "query":
                continue
            for value in BAD_VALUES:
                response = client.get(path, {parameter["name"]: value})
                check(response)
                if response.status_code == 422:
                    fields = {e["field"] for e in response.json()["errors"]}
                    assert parameter["name"] in fields, (path, parameter["name"], value, fields)
                checked += 1
    assert checked > 300


@pytest.mark.parametrize("key", ["coordinator", "partner"])
def test_every_path_parameter_refuses_bad_values_cleanly(world, api, key):
    client = api(world["m"][key])
    for route, method, _ in operations(client):
        if "{" not in route or method != "get":
            continue
        for value in BAD_PATH_VALUES:
            response = client.get(fill_path(route, value))
            check(response)
            assert response.status_code in (403, 404, 422), (route, value, response.status_code)


def test_unknown_objects_are_404_in_json(world, api):
    client = api(world["m"]["coordinator"])
    for route in (
        "/api/structures/{}/",
        "/api/dispositifs/{}/",
        "/api/interventions/{}/",
        "/api/suivis/{}/",
        "/api/orientations/{}/",
    ):
        body = assert_error_shape(client.get(route.format(uuid.uuid4())), 404)
        assert body["detail"] == "Introuvable."


def test_bad_uuid_names_the_path_parameter(world, api):
    body = assert_error_shape(api(world["m"]["coordinator"]).get("/api/interventions/zzz/"), 422)
    assert body["errors"] == [{"field": "intervention_id", "message": "Identifiant UUID attendu."}]


def test_pagination_bounds(world, api):
    client = api(world["m"]["coordinator"])
    for params, field in (
        ({"page_size": 501}, "page_size"),
        ({"page_size": 0}, "page_size"),
        ({"page": 0}, "page"),
        ({"page": "deux"}, "page"),
    ):
        body = assert_error_shape(client.get("/api/interventions/", params), 422)
        assert body["errors"][0]["field"] == field
    assert client.get("/api/interventions/", {"page_size": 500}).status_code == 200


def test_bad_periods(world, api):
    client = api(world["m"]["coordinator"])
    for path in ("/api/interventions/", "/api/suivis/", "/api/orientations/", "/api/dispositifs/"):
        body = assert_error_shape(
            client.get(path, {"start": "2026-03-01", "end": "2026-02-01"}), 422
        )
        assert body["errors"][0]["field"] == "end"
        body = assert_error_shape(client.get(path, {"commune": "99999"}), 422)
        assert body["errors"][0]["field"] == "commune"


BAD_BODY_VALUES = [None, "", "x" * 10_000, "a\x00b", -1, 10**30, 1.5, True, [], {}, ["x"], {"a": 1}]


def test_every_body_field_refuses_bad_values_cleanly(world, api):
    client = api(world["m"]["mediator"], "write")
    base = entry_data(world["service_a"], commune="59512")
    fields = [*base, "id", "shift", "note_confirmed", "access_requests"]
    for field in fields:
        for value in BAD_BODY_VALUES:
            response = client.post("/api/interventions/", {**base, field: value})
            check(response)
            if response.status_code == 422:
                named = {(e["field"] or "").split(".")[0] for e in response.json()["errors"]}
                assert field in named or None in named or "access_requests" in named, (
                    field,
                    value,
                    response.json(),
                )
    unknown = assert_error_shape(client.post("/api/interventions/", {**base, "inconnu": 1}), 422)
    assert unknown["errors"] == [{"field": "inconnu", "message": "Champ inconnu."}]


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "{",
        "null",
        "[]",
        '"texte"',
        "1",
        "[" * 50_000 + "]" * 50_000,
        b"\xff\xfe",
        '{"a":' * 5000,
    ],
)
def test_unreadable_bodies(world, api, raw):
    client = api(world["m"]["mediator"], "write")
    for path in ("/api/interventions/", "/api/interventions/sync/"):
        response = client.post(path, raw=raw)
        assert_error_shape(response)
        assert response.status_code in (400, 422), (path, raw[:20], response.status_code)


def test_wrong_method_is_405_in_json(world, api):
    client = api(world["m"]["coordinator"])
    response = client.client.delete("/api/interventions/", headers=client.headers)
    body = assert_error_shape(response, 405)
    assert "DELETE" in body["detail"] and "GET" in response["Allow"]
    assert_error_shape(client.get("/api/interventions/sync/"), 405)
