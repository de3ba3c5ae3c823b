"""The API's world: structure A (Roubaix, Nord) funded by funder A, structure B (Arras,
Pas-de-Calais) funded by funder B, each with interventions, a situation and a referral;
a steering member for the Nord; tokens are created through the service, as the page does.

B's names ("Structure Bêta secrète", "Dispositif Bêta confidentiel") and the nominative
fields of A's situation ("Jeanne Témoin", "06 12 34 56 78") must never appear in an answer
they should not be in.
"""

import datetime
import json

import pytest
from django.utils import timezone

from lien.core.models import Role
from lien.exchange import services as token_services
from lien.followup import links
from lien.followup.models import Referral, Situation
from lien.indicators.services import indicators_load
from lien.logbook import services as logbook_services
from lien.logbook.forms import InterventionForm
from lien.referentiel.models import Domain, RequestTheme
from lien.referentiel.services import referentiel_load
from lien.structures.models import OrganisationKind
from tests.factories import OrganisationFactory, ServiceFactory, make_membership

NAMES = "Jeanne Témoin"
CONTACT = "06 12 34 56 78"
CALLBACK = "07 98 76 54 32"
B_SECRETS = ("Structure Bêta secrète", "Dispositif Bêta confidentiel", "Note-Bêta-4417")


@pytest.fixture
def referentiel(db):
    referentiel_load()
    indicators_load()


def entry_data(service, *, commune, qpv="", people=2, note="", when=None, **extra) -> dict:
    """An intervention in the sync endpoint's (and the API's) shape."""
    when = when or timezone.localtime() - datetime.timedelta(hours=1)
    return {
        "service": str(service.pk),
        "started_at": when.strftime("%Y-%m-%dT%H:%M"),
        "duration_minutes": 20,
        "commune": commune,
        "qpv": qpv,
        "place_type": "hall-immeuble",
        "activity_type": "gestion-conflits",
        "domain": "habitat-social",
        "situation_category": "nuisances-sonores",
        "origin": "resident",
        "timing": "real_time",
        "form": "individual",
        "people_met": people,
        "outcome": "apaise-resolu",
        "emergency_handoff": "",
        "mediators": [],
        "note": note,
        **extra,
    }


def log(author, service, **kwargs):
    """Log an intervention as the entry page does (form, then service: roll-ups too)."""
    form = InterventionForm.from_payload(
        entry_data(service, **kwargs), structure=service.structure, author=author.user
    )
    assert form.is_valid(), form.errors
    return logbook_services.intervention_create(actor=author, data=form.intervention_data())


def followup_records(service, author, *, partner, nominative=False, suffix="") -> dict:
    structure = service.structure
    today = timezone.localdate()
    domain = Domain.objects.get(code="habitat-social")
    theme = RequestTheme.objects.order_by("pk").first()
    situation = Situation.objects.create(
        structure=structure, service=service, reference=f"S-2026-000{suffix or 1}",
        kind="deferred", initials="M. X.", domain=domain, commune=structure.commune,
        summary=f"Conflit de voisinage{suffix}", purge_on=today + datetime.timedelta(days=365),
        created_by=author.user,
        **({"is_nominative": True, "names": NAMES, "contact": CONTACT, "consent_on": today,
            "consent_scope": "follow_up"} if nominative else {}),
    )  # fmt: skip
    referral = Referral.objects.create(
        structure=structure, service=service, situation=situation, partner=partner, theme=theme,
        commune=structure.commune, person="M. X.", request=f"Ouverture de droits{suffix}",
        callback=CALLBACK, callback_consent=True, expires_on=today + datetime.timedelta(days=30),
        link_nonce=links.new_nonce(), created_by=author.user,
    )  # fmt: skip
    return {"situation": situation, "referral": referral}


@pytest.fixture
def world(territories, referentiel):
    funder_a = OrganisationFactory(name="Financeur Alpha")
    funder_b = OrganisationFactory(name="Financeur Bêta")
    partner_org = OrganisationFactory(name="CAF du Nord", kind=OrganisationKind.PARTNER)
    other_partner = OrganisationFactory(name="CPAM", kind=OrganisationKind.PARTNER)
    service_a = ServiceFactory(name="Médiation Alpha")
    service_a.territories.set([territories["mel"]])
    service_a.commissioning_bodies.add(funder_a)
    service_b = ServiceFactory(
        name=B_SECRETS[1],
        structure__name=B_SECRETS[0],
        structure__commune=territories["arras"],
    )
    service_b.commissioning_bodies.add(funder_b)
    a, b = service_a.structure, service_b.structure
    m = {
        "mediator": make_membership(Role.MEDIATOR, structure=a),
        "mediator2": make_membership(Role.MEDIATOR, structure=a),
        "coordinator": make_membership(Role.COORDINATOR, structure=a),
        "funder": make_membership(Role.FUNDER, organisation=funder_a),
        "partner": make_membership(Role.PARTNER, organisation=partner_org),
        "steering": make_membership(Role.STEERING, territory=territories["nord"]),
        "admin": make_membership(Role.ADMIN),
        "mediator_b": make_membership(Role.MEDIATOR, structure=b),
    }
    interventions_a = [
        log(m["mediator"], service_a, commune="59512", qpv="QX05901D") for _ in range(2)
    ]
    interventions_b = [
        log(m["mediator_b"], service_b, commune="62041", note=B_SECRETS[2]) for _ in range(3)
    ]
    return {
        "territories": territories,
        "a": a,
        "b": b,
        "service_a": service_a,
        "service_b": service_b,
        "funder_a": funder_a,
        "partner_org": partner_org,
        "m": m,
        "interventions_a": interventions_a,
        "interventions_b": interventions_b,
        "followup_a": followup_records(
            service_a, m["coordinator"], partner=partner_org, nominative=True
        ),
        "followup_b": followup_records(
            service_b, m["mediator_b"], partner=other_partner, suffix="9"
        ),
    }


@pytest.fixture
def token_for():
    """token_for(membership, scope="read") → the secret of a new token for it."""

    def _token_for(membership, scope="read", **kwargs) -> str:
        _, secret = token_services.token_create(
            user=membership.user, membership=membership, name="Test", scope=scope, **kwargs
        )
        return secret

    return _token_for


class Api:
    """The Django test client, speaking JSON with a bearer token."""

    def __init__(self, client, secret: str | None):
        self.client = client
        self.headers = {"Authorization": f"Bearer {secret}"} if secret else {}

    def get(self, path, params=None, **headers):
        return self.client.get(path, params or {}, headers={**self.headers, **headers})

    def post(self, path, body=None, raw: str | bytes | None = None, **headers):
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(
            path, data, content_type="application/json", headers={**self.headers, **headers}
        )

    def patch(self, path, body=None, **headers):
        return self.client.generic(
            "PATCH",
            path,
            json.dumps(body if body is not None else {}),
            content_type="application/json",
            headers={**self.headers, **headers},
        )


@pytest.fixture
def api(client, token_for):
    """api(membership, scope="read") → a client authenticated by a new token."""

    def _api(membership=None, scope="read", secret=None):
        if secret is None and membership is not None:
            secret = token_for(membership, scope)
        return Api(client, secret)

    return _api


def assert_error_shape(response, status=None):
    """The one error shape, in JSON, never a 5xx."""
    assert response.status_code < 500, (response.status_code, response.content[:500])
    if status is not None:
        assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"detail", "errors"}, body
    assert isinstance(body["detail"], str) and body["detail"]
    for error in body["errors"]:
        assert set(error) == {"field", "message"}, error
        assert isinstance(error["message"], str) and error["message"]
    return body
