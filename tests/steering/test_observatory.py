"""The job observatory: which posts count as jobs created or consolidated, against the
agreement's target, with small-cell suppression for steering."""

import datetime
from decimal import Decimal

import pytest

from lien.jobs.models import Contract
from lien.jobs.queries import JobScope, headcount, job_events, jobs_values
from lien.steering.queries import observatory, quarter_ends
from tests.jobs.factories import (
    contract_type,
    make_funding,
    make_mediator,
    make_post,
    project_stage,
)

pytestmark = pytest.mark.django_db

D = datetime.date


def hire(service, starts_on, code="cdi", *, ends_on=None, fte="1", post=None, person=None):
    post = post or make_post(service)
    person = person or make_mediator(service.structure)
    Contract.objects.create(
        mediator=person, post=post, contract_type=contract_type(code, is_aided=code == "pec"),
        starts_on=starts_on, ends_on=ends_on, fte=Decimal(fte),
    )  # fmt: skip
    return post, person


@pytest.fixture
def jobs(steering):
    a, b = steering["service"], steering["service_b"]
    created, _ = hire(a, D(2024, 3, 1))  # first contract in the period: created
    aided, person = hire(a, D(2023, 1, 1), "pec", ends_on=D(2024, 6, 30), fte="0.8")
    hire(a, D(2024, 7, 1), post=aided, person=person)  # aided → CDI: consolidated
    lasting, _ = hire(b, D(2022, 1, 1))  # older post, funded for the long run in 2025
    make_funding(lasting, steering["city"], starts_on=D(2025, 1, 1), ends_on=D(2027, 12, 31),
                 stage=project_stage("perennisation"))  # fmt: skip
    hire(b, D(2022, 5, 1))  # older post, nothing new: not counted
    hire(a, D(2028, 1, 1))  # after the agreement: not counted
    hire(b, D(2023, 12, 31))  # the day before it began: not counted
    return {"created": created, "consolidated": aided, "lasting": lasting}


def test_jobs_created_and_consolidated_follow_their_definitions(steering, jobs):
    scope = JobScope(territory_id=steering["territories"]["region"].pk)
    events = {e.post_id: e for e in job_events(scope, D(2024, 1, 1), D(2027, 12, 31))}
    assert set(events) == {jobs["created"].pk, jobs["consolidated"].pk, jobs["lasting"].pk}
    assert events[jobs["created"].pk].kind == "created"
    assert (events[jobs["consolidated"].pk].kind, events[jobs["consolidated"].pk].on) == (
        "consolidated",
        D(2024, 7, 1),
    )
    assert events[jobs["consolidated"].pk].contract_type == "CDI"
    assert (events[jobs["lasting"].pk].kind, events[jobs["lasting"].pk].on) == (
        "consolidated",
        D(2025, 1, 1),
    )
    # A narrower period or territory counts fewer.
    assert len(job_events(scope, D(2024, 1, 1), D(2024, 6, 30))) == 1
    pdc = JobScope(territory_id=steering["territories"]["pdc"].pk)
    assert [e.post_id for e in job_events(pdc, D(2024, 1, 1), D(2027, 12, 31))] == [
        jobs["lasting"].pk
    ]


def test_target_arithmetic_for_an_administrator(steering, jobs):
    figures = observatory(steering["agreement"], protected=False, as_of=D(2026, 6, 30))
    assert (figures.created, figures.consolidated, figures.total) == ("1", "2", "3")
    assert figures.target == "10"
    assert figures.progress == "30\u00a0%"
    assert figures.progress_value == pytest.approx(30.0)
    assert figures.fte == "3"
    by_department = {label: shown for label, shown, _ in figures.breakdowns[0].rows}
    assert by_department["Nord"] == "2" and by_department["Pas-de-Calais"] == "1"
    by_contract = {label: shown for label, shown, _ in figures.breakdowns[3].rows}
    assert by_contract == {"CDI": "3"}
    # One line per quarter from the start, the last one on the day asked.
    assert figures.timeline[0][0] == "31/03/2024"
    assert figures.timeline[-1][0] == "30/06/2026"
    assert figures.timeline[-1][3] == "3"


def test_steering_sees_small_counts_suppressed_and_no_way_to_recompute_them(steering, jobs):
    figures = observatory(steering["agreement"], protected=True, as_of=D(2026, 6, 30))
    shown = (figures.created, figures.consolidated, figures.total)
    assert shown == ("< 5", "< 5", "< 5")
    assert figures.progress == "secret" and figures.fte == "—"
    for breakdown in figures.breakdowns:
        for _, text, value in breakdown.rows:
            assert text in ("0", "< 5", "secret")
            assert value is None or text == "0"


def test_progress_past_the_target_is_drawn_full(steering, jobs):
    steering["agreement"].job_target = 2
    figures = observatory(steering["agreement"], protected=False, as_of=D(2026, 6, 30))
    assert figures.progress == "150\u00a0%" and figures.progress_value == 100.0


def test_headcount_and_measures_on_a_day(steering, jobs):
    scope = JobScope(structure_ids=(str(steering["service"].structure_id),))
    assert headcount(scope, D(2024, 5, 1)) == (2, Decimal("1.8"))
    assert headcount(scope, D(2024, 7, 1)) == (2, Decimal("2"))
    values = jobs_values({"mediators_in_post", "fte", "departures", "aided_exits"}, scope,
                         D(2024, 1, 1), D(2024, 12, 31))  # fmt: skip
    # The PEC ended on 30 June, but the same person stayed on a CDI: no departure.
    assert values == {"mediators_in_post": 2, "fte": Decimal("2"), "departures": 0,
                      "aided_exits": 1}  # fmt: skip


def test_quarter_ends_cover_the_period():
    assert quarter_ends(D(2024, 2, 10), D(2024, 8, 15)) == [
        D(2024, 3, 31),
        D(2024, 6, 30),
        D(2024, 8, 15),
    ]
    assert quarter_ends(D(2024, 1, 1), D(2023, 12, 31)) == []
