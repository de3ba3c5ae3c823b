"""Contracts: the adulte-relais rules, exits of aided contracts, who may write, and the
journal that never holds a person's name."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from lien.core.audit import CHANGED_MASK as MASK_CHANGED
from lien.core.audit import MASK
from lien.core.models import AuditEvent
from lien.jobs import services
from lien.jobs.models import Contract
from tests.jobs.factories import contract_type, make_mediator, make_post

D = datetime.date


def adulte_relais(world, **overrides) -> dict:
    data = {
        "mediator": world["a"]["mediator"],
        "contract_type": contract_type("adulte-relais"),
        "starts_on": D(2025, 1, 1),
        "ends_on": D(2027, 12, 31),
        "fte": Decimal("0.5"),
        "agreement_starts_on": D(2025, 1, 1),
        "agreement_ends_on": D(2027, 12, 31),
    }
    data.update(overrides)
    return data


@pytest.fixture
def post(jobs):
    return make_post(jobs["service"], title="Adulte-relais du quartier")


def create(jobs, post, **overrides):
    return services.contract_create(
        actor=jobs["coordinator"], post=post, data=adulte_relais(jobs, **overrides)
    )


def refused(jobs, post, field, **overrides) -> list[str]:
    with pytest.raises(ValidationError) as exc:
        create(jobs, post, **overrides)
    assert field in exc.value.message_dict, exc.value.message_dict
    return exc.value.message_dict[field]


def test_a_valid_adulte_relais_contract_is_accepted_and_journaled(jobs, post):
    contract = create(jobs, post)
    assert contract.is_adulte_relais
    event = AuditEvent.objects.get(object_id=str(contract.pk))
    assert event.action == "create" and event.structure_id == jobs["structure"].pk


def test_adulte_relais_is_at_least_half_time(jobs, post):
    [message] = refused(jobs, post, "fte", fte=Decimal("0.49"))
    assert message == "Un contrat adulte-relais est au moins à mi-temps (0,5 ETP)."


def test_adulte_relais_agreement_lasts_three_years_at_most(jobs, post):
    [message] = refused(jobs, post, "agreement_ends_on", agreement_ends_on=D(2028, 1, 1))
    assert "3 ans au plus" in message and "31/12/2027" in message


def test_adulte_relais_needs_its_agreement(jobs, post):
    assert (
        "début de la convention"
        in refused(jobs, post, "agreement_starts_on", agreement_starts_on=None)[0]
    )
    assert (
        "fin de la convention"
        in refused(jobs, post, "agreement_ends_on", agreement_ends_on=None)[0]
    )


def test_adulte_relais_contract_stays_within_its_agreement(jobs, post):
    assert refused(jobs, post, "starts_on", starts_on=D(2024, 12, 31)) == [
        "Le contrat commence avant la convention adulte-relais."
    ]
    assert "renouvelez la convention" in refused(jobs, post, "ends_on", ends_on=D(2028, 1, 1))[0]
    assert "date de fin" in refused(jobs, post, "ends_on", ends_on=None)[0]


def test_one_post_one_agreement_no_overlapping_adulte_relais_contracts(jobs, post):
    create(jobs, post, ends_on=D(2026, 6, 30))
    other = make_mediator(jobs["structure"], first_name="Lou")
    [message] = refused(
        jobs, post, "starts_on", mediator=other, starts_on=D(2026, 6, 30), ends_on=D(2027, 6, 30)
    )
    assert "un poste, une convention" in message
    # The day after, or on another post: accepted.
    create(jobs, post, mediator=other, starts_on=D(2026, 7, 1), ends_on=D(2027, 6, 30))
    create(jobs, make_post(jobs["service"]), mediator=other, ends_on=D(2026, 6, 30))
    # A renewed agreement (a new 3-year period) carries the next contract.
    create(
        jobs,
        post,
        starts_on=D(2028, 1, 1),
        ends_on=D(2030, 12, 31),
        agreement_starts_on=D(2028, 1, 1),
        agreement_ends_on=D(2030, 12, 31),
    )
    assert Contract.objects.filter(post=post).count() == 3


def test_editing_a_contract_does_not_overlap_itself(jobs, post):
    contract = create(jobs, post)
    services.contract_update(
        actor=jobs["coordinator"], contract=contract, data={"ends_on": D(2027, 6, 30)}
    )
    assert Contract.objects.get(pk=contract.pk).ends_on == D(2027, 6, 30)


def test_other_contracts_have_no_agreement_nor_half_time_rule(jobs, post):
    cdi = {
        "contract_type": contract_type("cdi"),
        "ends_on": None,
        "fte": Decimal("0.3"),
        "agreement_starts_on": None,
        "agreement_ends_on": None,
    }
    assert create(jobs, post, **cdi).fte == Decimal("0.3")
    assert (
        "adulte-relais"
        in refused(
            jobs, post, "agreement_starts_on", **{**cdi, "agreement_starts_on": D(2025, 1, 1)}
        )[0]
    )


def test_exits_are_for_ended_aided_contracts(jobs, post):
    assert (
        "contrat terminé"
        in refused(jobs, post, "exit_outcome", ends_on=None, exit_outcome="permanent_job")[0]
    )
    cdi = {
        "contract_type": contract_type("cdi"),
        "agreement_starts_on": None,
        "agreement_ends_on": None,
        "end_reason": "resignation",
    }
    assert (
        "contrats aidés"
        in refused(jobs, post, "exit_outcome", **cdi, exit_outcome="permanent_job")[0]
    )
    contract = create(jobs, post, end_reason="term", exit_outcome="qualifying_training")
    assert contract.get_exit_outcome_display() == "formation qualifiante"


def test_a_person_of_another_structure_cannot_hold_the_post(jobs, post):
    assert "pas employée" in refused(jobs, post, "mediator", mediator=jobs["b"]["mediator"])[0]


@pytest.mark.parametrize("actor", ["mediator", "coordinator_b", "city_member", "steering"])
def test_only_the_coordination_writes_contracts(jobs, post, actor):
    with pytest.raises(PermissionDenied):
        services.contract_create(actor=jobs[actor], post=post, data=adulte_relais(jobs))
    with pytest.raises(PermissionDenied):
        services.contract_update(
            actor=jobs[actor], contract=jobs["a"]["contract"], data={"fte": Decimal("0.5")}
        )
    assert not Contract.objects.filter(post=post).exists()


def test_the_administrator_may_write(jobs, post):
    assert services.contract_create(actor=jobs["admin"], post=post, data=adulte_relais(jobs))


def test_the_journal_never_holds_a_persons_name(jobs):
    mediator = services.mediator_create(
        actor=jobs["coordinator"],
        structure=jobs["structure"],
        data={"first_name": "Yasmina", "last_name": "Benali", "birth_year": 1990},
    )
    services.mediator_update(
        actor=jobs["coordinator"], mediator=mediator, data={"last_name": "Benali-Roux"}
    )
    events = list(AuditEvent.objects.filter(object_id=str(mediator.pk)).order_by("at", "id"))
    assert [e.action for e in events] == ["create", "update"]
    for event in events:
        text = repr((event.before, event.after, event.object_repr, event.note))
        assert "Yasmina" not in text and "Benali" not in text and "1990" not in text
    assert events[0].after["first_name"] == MASK
    assert events[1].before == {"last_name": MASK}
    assert events[1].after == {"last_name": MASK_CHANGED}


def test_mediators_are_refused_to_other_roles(jobs):
    with pytest.raises(PermissionDenied):
        services.mediator_create(
            actor=jobs["mediator"],
            structure=jobs["structure"],
            data={"first_name": "A", "last_name": "B"},
        )
    with pytest.raises(PermissionDenied):
        services.mediator_update(
            actor=jobs["coordinator_b"], mediator=jobs["a"]["mediator"], data={"first_name": "X"}
        )
