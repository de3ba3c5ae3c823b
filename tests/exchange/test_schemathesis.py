"""Property-based run of the API against its own OpenAPI description (schemathesis).

Every operation of /api/openapi.json is called in-process (WSGI, no server) with
requests generated from its schema — valid ones, boundary values and malformed ones —
with a coordinator's read-and-write token, on the API test world (two structures and
their records). Most generated record ids are swapped for one of the coordinator's own
records, so that details, status changes and corrections run on real objects (the others
stay random: not found). Two checks: no server error, and every answer conforms to the
documented responses (status code, body schema). The number of examples per operation
is bounded and the generation derandomized: the run is the same on every machine.
"""

import uuid

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from tests.jobs.factories import make_jobs
from tests.test_permission_matrix import make_followup, make_shift

#: Examples per operation and phase (about 45 operations): the run stays near a minute.
MAX_EXAMPLES = 10

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 7,
        # NUL characters too: PostgreSQL refuses them in text, the API must say so (422).
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "allow-x00": True},
        "phases": {"stateful": {"enabled": False}},
    }
)

#: Loaded at collection: the document is built from the code, without the database.
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", WSGIHandler(), config=CONFIG)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """The real WSGI handler closes the database connection around each request (which
    ends the test's transaction on PostgreSQL): as Django's test client, keep it open."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def coordinator_headers(world, token_for):
    return {"Authorization": f"Bearer {token_for(world['m']['coordinator'], 'write')}"}


@pytest.fixture
def own_records(world) -> dict:
    """One record of each kind of structure A, by the name of the path parameter."""
    service = world["service_a"]
    return {
        "structure": world["a"],
        "service": service,
        "intervention": world["interventions_a"][0],
        **make_followup(service, partner=world["partner_org"], body=world["funder_a"]),
        "shift": make_shift(service),
        **make_jobs(service, funder=world["funder_a"]),
    }


def _use_own_records(case, records: dict) -> None:
    for name, value in (case.path_parameters or {}).items():
        record = records.get(name.removesuffix("_id"))
        try:
            generated = uuid.UUID(str(value))
        except ValueError:
            continue  # a malformed id: kept, the answer must be a 422
        if record is not None and generated.int % 4:
            case.path_parameters[name] = str(record.pk)


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_to_its_own_description(case, coordinator_headers, own_records):
    _use_own_records(case, own_records)
    case.call_and_validate(
        headers=coordinator_headers,
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )
