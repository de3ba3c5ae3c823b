"""The OpenAPI document and the interactive documentation."""

import json

import pytest
from django.urls import get_resolver

from tests.test_permission_matrix import iter_routes

pytestmark = pytest.mark.django_db

EXPECTED = {
    ("get", "/api/moi/"),
    ("get", "/api/referentiel/"),
    ("get", "/api/referentiel/{vocabulary}/"),
    ("get", "/api/territoires/"),
    ("get", "/api/structures/"),
    ("get", "/api/structures/{structure_id}/"),
    ("get", "/api/dispositifs/"),
    ("get", "/api/dispositifs/{service_id}/"),
    ("get", "/api/interventions/"),
    ("post", "/api/interventions/"),
    ("post", "/api/interventions/sync/"),
    ("get", "/api/interventions/{intervention_id}/"),
    ("get", "/api/suivis/"),
    ("get", "/api/suivis/{situation_id}/"),
    ("get", "/api/orientations/"),
    ("get", "/api/orientations/{referral_id}/"),
    ("get", "/api/indicateurs/"),
    # Follow-up writes, reports, social watch, collective actions, shifts, jobs.
    ("post", "/api/suivis/"),
    ("post", "/api/suivis/{situation_id}/cloture/"),
    ("post", "/api/suivis/{situation_id}/retrait-consentement/"),
    ("get", "/api/suivis/{situation_id}/etapes/"),
    ("post", "/api/suivis/{situation_id}/etapes/"),
    ("post", "/api/suivis/{situation_id}/etapes/{nextstep_uid}/faite/"),
    ("get", "/api/suivis/{situation_id}/accords/"),
    ("post", "/api/suivis/{situation_id}/accords/"),
    ("post", "/api/suivis/{situation_id}/accords/{agreement_uid}/bilan/"),
    ("get", "/api/suivis/{situation_id}/rencontres/"),
    ("post", "/api/suivis/{situation_id}/rencontres/"),
    ("post", "/api/orientations/"),
    ("post", "/api/orientations/{referral_id}/reponse/"),
    ("get", "/api/signalements/"),
    ("post", "/api/signalements/"),
    ("get", "/api/signalements/{report_id}/"),
    ("post", "/api/signalements/{report_id}/transmission/"),
    ("post", "/api/signalements/{report_id}/reponse/"),
    ("get", "/api/veille-sociale/"),
    ("post", "/api/veille-sociale/"),
    ("get", "/api/veille-sociale/{observation_id}/"),
    ("get", "/api/actions-collectives/"),
    ("post", "/api/actions-collectives/"),
    ("get", "/api/actions-collectives/{collective_action_id}/"),
    ("patch", "/api/actions-collectives/{collective_action_id}/"),
    ("get", "/api/tournees/"),
    ("post", "/api/tournees/"),
    ("get", "/api/tournees/{shift_id}/"),
    ("patch", "/api/tournees/{shift_id}/"),
    ("get", "/api/emplois/postes/"),
    ("get", "/api/emplois/postes/{post_id}/"),
    ("get", "/api/emplois/contrats/"),
    ("get", "/api/emplois/financements/"),
    ("get", "/api/emplois/formations/"),
}


def test_the_openapi_document_lists_every_route(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    doc = json.loads(response.content)
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"] == "API Lien"
    listed = {(m, p) for p, methods in doc["paths"].items() for m in methods}
    assert listed == EXPECTED
    # Every operation of the API is in the document, and nothing else is under /api/.
    registered = {
        "/" + route.replace("<", "{").replace(">", "}")
        for name, route, _ in iter_routes(get_resolver().url_patterns)
        if name and name.startswith("api:") and name not in API_PLUMBING
    }
    assert registered == {p for _, p in EXPECTED}
    # Each operation says it needs the bearer token and documents its errors.
    schemes = doc["components"]["securitySchemes"]
    assert [s["scheme"] for s in schemes.values()] == ["bearer"]
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            assert operation.get("security"), (method, path)
            assert {"401", "403", "422"} <= set(operation["responses"]), (method, path)
    error = doc["components"]["schemas"]["ErrorOut"]
    assert set(error["properties"]) == {"detail", "errors"}


API_PLUMBING = {
    "api:openapi-json",
    "api:openapi-view",
    "api:api-root",
    "api:docs_asset",
    "api:not_found",
}


def test_no_schema_carries_names_or_contact_details(client):
    doc = client.get("/api/openapi.json").json()
    for name, schema in doc["components"]["schemas"].items():
        assert not {"names", "contact", "callback"} & set(schema.get("properties", {})), name


def test_the_interactive_documentation(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="swagger-settings"' in html and "/api/openapi.json" in html
    # Served from this site: the CSP allows no CDN and no inline script.
    assert "cdn." not in html and "<script>" not in html
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp  # the site's own CSP
    for name in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-init.js"):
        asset = client.get(f"/api/docs/assets/{name}")
        assert asset.status_code == 200, name
        assert b"".join(asset.streaming_content)
    assert client.get("/api/docs/assets/..%2Fsettings.py").status_code == 404
    assert client.get("/api/docs/assets/favicon.png").status_code == 404
    home = client.get("/api/")
    assert home.status_code == 302 and home["Location"] == "/api/docs"
