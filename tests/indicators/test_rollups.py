import threading
import uuid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.db.models import Sum

from lien.indicators import rollups
from lien.indicators.models import ActivityCube, RequestCube, ResultCube
from lien.logbook import services
from lien.logbook.forms import InterventionForm

pytestmark = pytest.mark.django_db


def log(team, payload, member="mediator", **overrides):
    form = InterventionForm.from_payload(
        payload(**overrides), structure=team["structure"], author=team[member].user
    )
    assert form.is_valid(), form.errors
    return services.intervention_create(actor=team[member], data=form.intervention_data())


def test_a_new_entry_is_counted_in_the_same_transaction(team, payload):
    log(team, payload, people_met=3)
    log(team, payload, people_met=2, qpv="")
    assert ActivityCube.objects.aggregate(n=Sum("interventions"), p=Sum("people_met")) == {
        "n": 2,
        "p": 5,
    }
    assert ActivityCube.objects.count() == 2  # in and outside the QPV
    assert ResultCube.objects.get().interventions == 2


def test_requests_are_rolled_up_apart_from_people(team, payload):
    log(
        team,
        payload,
        activity_type="mise-en-relation",
        timing="",
        form="",
        people_met=1,
        access_requests=[{"theme": "numerique", "count": 2}, {"theme": "logement", "count": 1}],
    )
    assert RequestCube.objects.aggregate(r=Sum("requests"))["r"] == 3
    assert ActivityCube.objects.get().people_met == 1


def test_a_correction_moves_the_counts(team, payload):
    entry = log(team, payload, people_met=3)
    form = InterventionForm.from_payload(
        payload(people_met=7, outcome="non-resolu", domain="espaces-publics"),
        structure=team["structure"],
        author=team["mediator"].user,
    )
    assert form.is_valid()
    services.intervention_update(
        actor=team["mediator"], intervention=entry, data=form.intervention_data()
    )
    live = ActivityCube.objects.filter(interventions__gt=0)
    assert live.count() == 1
    assert live.get().people_met == 7
    assert all(not lines for lines in rollups.differences().values())


def test_check_rollups_reports_a_tampered_cube_and_rebuild_repairs_it(team, payload, capsys):
    log(team, payload)
    call_command("check_rollups")
    ActivityCube.objects.update(interventions=42)
    with pytest.raises(CommandError):
        call_command("check_rollups")
    assert "attendu (1," in capsys.readouterr().out
    call_command("rebuild_rollups")
    call_command("check_rollups")


@pytest.mark.django_db(transaction=True)
def test_apply_facts_needs_a_transaction():
    with pytest.raises(RuntimeError):
        rollups.apply_facts(after=[])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_lose_no_increment(team, payload):
    """Eight threads log entries on the same cube keys at once; nothing is lost."""
    threads_count, per_thread = 8, 15
    barrier = threading.Barrier(threads_count)
    errors = []

    def writer():
        try:
            barrier.wait()
            for _ in range(per_thread):
                form = InterventionForm.from_payload(
                    payload(), structure=team["structure"], author=team["mediator"].user
                )
                assert form.is_valid(), form.errors
                services.intervention_create(
                    actor=team["mediator"],
                    data=form.intervention_data(),
                    intervention_id=uuid.uuid4(),
                )
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    total = threads_count * per_thread
    assert ActivityCube.objects.aggregate(n=Sum("interventions"))["n"] == total
    call_command("check_rollups")
