"""Jobs records for the tests (and for the permission matrix and bad-input worlds)."""

import datetime
from decimal import Decimal

from django.utils import timezone

from lien.jobs.models import Contract, Funding, Mediator, Post, PracticeReview, Training
from lien.referentiel.models import ContractType, FundingProgram, ProjectStage


def contract_type(code="cdi", *, is_aided=False) -> ContractType:
    labels = {"cdi": "CDI", "cdd": "CDD", "adulte-relais": "Adulte-relais"}
    return ContractType.objects.get_or_create(
        code=code,
        defaults={"label": labels.get(code, code), "is_aided": is_aided or code == "adulte-relais"},
    )[0]


def funding_program(code="adultes-relais") -> FundingProgram:
    return FundingProgram.objects.get_or_create(code=code, defaults={"label": code})[0]


def project_stage(code="developpement") -> ProjectStage:
    return ProjectStage.objects.get_or_create(code=code, defaults={"label": code})[0]


def make_post(service, **fields) -> Post:
    fields.setdefault("title", "Médiateur·rice social·e")
    fields.setdefault("fte", Decimal("1"))
    return Post.objects.create(structure=service.structure, service=service, **fields)


def make_mediator(structure, **fields) -> Mediator:
    fields.setdefault("first_name", "Camille")
    fields.setdefault("last_name", "Durand")
    return Mediator.objects.create(structure=structure, **fields)


def make_funding(post, funder, *, starts_on, ends_on, **fields) -> Funding:
    fields.setdefault("program", funding_program())
    fields.setdefault("stage", project_stage())
    fields.setdefault("amount", Decimal("20000"))
    return Funding.objects.create(
        holder=post.structure,
        post=post,
        funder=funder,
        starts_on=starts_on,
        ends_on=ends_on,
        **fields,
    )


def make_jobs(service, *, funder) -> dict:
    """One post of `service`'s structure with a mediator, a CDI contract and a funding line
    from `funder`; keys are the route parameters' object names."""
    today = timezone.localdate()
    post = make_post(service, title="Poste de " + service.name)
    mediator = make_mediator(service.structure, last_name="Secret-" + service.name[:20])
    contract = Contract.objects.create(
        mediator=mediator,
        post=post,
        contract_type=contract_type("cdi"),
        starts_on=today - datetime.timedelta(days=30),
        fte=Decimal("1"),
    )
    funding = make_funding(
        post,
        funder,
        starts_on=today - datetime.timedelta(days=30),
        ends_on=today + datetime.timedelta(days=300),
    )
    training = Training.objects.create(
        mediator=mediator,
        kind="continuing",
        title="Gestion des conflits",
        body="Organisme de formation",
        hours=Decimal("14"),
        starts_on=today - datetime.timedelta(days=10),
    )
    review = PracticeReview.objects.create(
        structure=service.structure, held_on=today, facilitator="Superviseur·e"
    )
    review.attendees.add(mediator)
    return {
        "post": post,
        "mediator": mediator,
        "contract": contract,
        "funding": funding,
        "training": training,
        "practice_review": review,
    }
