import datetime

import pytest
from django.utils import timezone

from lien.core.models import Role
from lien.referentiel.services import referentiel_load
from tests.factories import ServiceFactory, make_membership


@pytest.fixture
def referentiel(db):
    referentiel_load()


@pytest.fixture
def team(territories, referentiel):
    """A structure with one service, two mediators and a coordinator."""
    service = ServiceFactory(name="Médiation de proximité")
    service.territories.set([territories["mel"]])
    structure = service.structure
    return {
        "structure": structure,
        "service": service,
        "mediator": make_membership(Role.MEDIATOR, structure=structure),
        "partner_mediator": make_membership(Role.MEDIATOR, structure=structure),
        "coordinator": make_membership(Role.COORDINATOR, structure=structure),
    }


@pytest.fixture
def payload(team):
    """A valid entry in the sync endpoint's shape (also what the page posts)."""

    def _payload(**overrides):
        data = {
            "service": str(team["service"].pk),
            "started_at": (timezone.localtime() - datetime.timedelta(hours=1)).strftime(
                "%Y-%m-%dT%H:%M"
            ),
            "duration_minutes": 20,
            "commune": "59512",
            "qpv": "QX05901D",
            "place_type": "hall-immeuble",
            "activity_type": "gestion-conflits",
            "domain": "habitat-social",
            "situation_category": "nuisances-sonores",
            "origin": "resident",
            "timing": "real_time",
            "form": "individual",
            "people_met": 2,
            "outcome": "apaise-resolu",
            "emergency_handoff": "",
            "mediators": [team["partner_mediator"].user_id],
            "note": "",
        }
        data.update(overrides)
        return data

    return _payload
