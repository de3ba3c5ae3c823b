"""The write path of posts, mediators, contracts and funding lines.

Each function checks that the actor coordinates the structure concerned (or administers
the platform), validates the row (model rules, including the adulte-relais rules), writes
in one transaction and journals the change. A mediator's personal fields are never
copied into the journal: only the fact that they changed.
"""

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from lien.core import audit
from lien.core.models import AuditAction, Membership, Role, User
from lien.core.permissions import require_manage_structure
from lien.jobs.models import (
    Contract,
    Funding,
    Mediator,
    Post,
    PostShare,
    PracticeReview,
    Training,
)
from lien.jobs.queries import posts_with_funding_ending
from lien.notifications.services import notify
from lien.structures.models import Structure

HUNDRED = Decimal("100")


def _assign(obj, data: dict[str, Any], *, fixed: Iterable[str] = ()) -> None:
    for name, value in data.items():
        if name in fixed:
            raise PermissionDenied(f"Le champ « {name} » ne se change pas ici.")
        setattr(obj, name, value)


def _journal_create(actor, obj, *, structure_id, masked=()) -> None:
    audit.record(
        action=AuditAction.CREATE,
        actor=actor,
        obj=obj,
        after=audit.masked(audit.snapshot(obj), masked),
        structure_id=structure_id,
    )


def _journal_update(actor, obj, before, *, structure_id, masked=()) -> None:
    masked_before, masked_after = audit.masked_pair(before, audit.snapshot(obj), masked)
    audit.record(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=obj,
        before=masked_before,
        after=masked_after,
        structure_id=structure_id,
    )


# --- posts ---------------------------------------------------------------------------------


@transaction.atomic
def post_create(*, actor: Membership, structure: Structure, data: dict[str, Any]) -> Post:
    """Open a post in `structure` (its coordinators, or an administrator)."""
    require_manage_structure(actor, structure)
    post = Post(structure=structure)
    _assign(post, data, fixed=("structure",))
    post.full_clean()
    post.save()
    _journal_create(actor, post, structure_id=structure.pk)
    return post


@transaction.atomic
def post_update(*, actor: Membership, post: Post, data: dict[str, Any]) -> Post:
    require_manage_structure(actor, post.structure)
    before = audit.snapshot(post)
    _assign(post, data, fixed=("structure",))
    post.full_clean()
    post.save()
    _journal_update(actor, post, before, structure_id=post.structure_id)
    return post


def _shares_state(post: Post) -> dict:
    return {
        str(beneficiary): str(share)
        for beneficiary, share in post.shares.order_by("beneficiary_id").values_list(
            "beneficiary_id", "share"
        )
    }


@transaction.atomic
def post_shares_set(
    *, actor: Membership, post: Post, shares: Iterable[tuple[Structure, Decimal]]
) -> list[PostShare]:
    """Make `post` pooled among these beneficiary structures, replacing earlier shares.

    The shares must add up to exactly 100 %; an empty list makes the post a plain one.
    """
    require_manage_structure(actor, post.structure)
    shares = list(shares)
    seen = set()
    for beneficiary, _share in shares:
        if beneficiary.pk in seen:
            raise ValidationError(
                {"shares": f"La structure « {beneficiary} » figure deux fois dans la répartition."}
            )
        seen.add(beneficiary.pk)
    total = sum((share for _, share in shares), Decimal("0"))
    if shares and total != HUNDRED:
        raise ValidationError(
            {
                "shares": "Les parts d'un poste mutualisé font 100 % au total "
                f"(ici : {total.normalize():f} %)."
            }
        )
    before = _shares_state(post)
    post.shares.all().delete()
    rows = [PostShare(post=post, beneficiary=b, share=s) for b, s in shares]
    for row in rows:
        row.full_clean()
    PostShare.objects.bulk_create(rows)
    audit.record(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=post,
        before={"shares": before},
        after={"shares": _shares_state(post)},
        structure_id=post.structure_id,
        note="Répartition du poste mutualisé",
    )
    return rows


# --- mediators -----------------------------------------------------------------------------


@transaction.atomic
def mediator_create(*, actor: Membership, structure: Structure, data: dict[str, Any]) -> Mediator:
    """Record a person employed by `structure` (minimal personal data)."""
    require_manage_structure(actor, structure)
    mediator = Mediator(structure=structure)
    _assign(mediator, data, fixed=("structure",))
    mediator.full_clean()
    mediator.save()
    _journal_create(actor, mediator, structure_id=structure.pk, masked=Mediator.NOMINATIVE_FIELDS)
    return mediator


@transaction.atomic
def mediator_update(*, actor: Membership, mediator: Mediator, data: dict[str, Any]) -> Mediator:
    require_manage_structure(actor, mediator.structure)
    before = audit.snapshot(mediator)
    _assign(mediator, data, fixed=("structure",))
    mediator.full_clean()
    mediator.save()
    _journal_update(
        actor,
        mediator,
        before,
        structure_id=mediator.structure_id,
        masked=Mediator.NOMINATIVE_FIELDS,
    )
    return mediator


# --- contracts -----------------------------------------------------------------------------


def _lock_post(post: Post) -> None:
    """Serialise contract writes on one post, so that two adulte-relais contracts cannot
    both pass the overlap check (PostgreSQL row lock; SQLite writers already queue)."""
    Post.objects.select_for_update().filter(pk=post.pk).exists()


@transaction.atomic
def contract_create(*, actor: Membership, post: Post, data: dict[str, Any]) -> Contract:
    """Add a contract on `post`; adulte-relais contracts must fit their agreement."""
    require_manage_structure(actor, post.structure)
    _lock_post(post)
    contract = Contract(post=post)
    _assign(contract, data, fixed=("post",))
    contract.full_clean()
    contract.save()
    _journal_create(actor, contract, structure_id=post.structure_id)
    return contract


@transaction.atomic
def contract_update(*, actor: Membership, contract: Contract, data: dict[str, Any]) -> Contract:
    """Change a contract: its dates, its end and, for an aided contract, its exit."""
    require_manage_structure(actor, contract.post.structure)
    _lock_post(contract.post)
    before = audit.snapshot(contract)
    _assign(contract, data, fixed=("post",))
    contract.full_clean()
    contract.save()
    _journal_update(actor, contract, before, structure_id=contract.post.structure_id)
    return contract


# --- funding -------------------------------------------------------------------------------


def _percent(value: Decimal) -> str:
    return format(value.normalize(), "f").replace(".", ",")


def _check_pooled_shares(funding: Funding) -> None:
    """The funders of one post split its cost: the shares of its lines that overlap in time
    add up to 100 % at most. The post's row is locked so two writers cannot both pass."""
    if funding.post_id is None or funding.share is None:
        return
    Post.objects.select_for_update().filter(pk=funding.post_id).first()
    others = (
        Funding.objects.filter(
            post_id=funding.post_id,
            share__isnull=False,
            starts_on__lte=funding.ends_on,
            ends_on__gte=funding.starts_on,
        )
        .exclude(pk=funding.pk)
        .values_list("share", flat=True)
    )
    taken = sum(others, Decimal("0"))
    if taken + funding.share > HUNDRED:
        raise ValidationError(
            {
                "share": (
                    f"Les financements de ce poste sur la même période en couvrent déjà "
                    f"{_percent(taken)} % : il reste {_percent(HUNDRED - taken)} % à répartir."
                )
            }
        )


@transaction.atomic
def funding_create(*, actor: Membership, holder: Structure, data: dict[str, Any]) -> Funding:
    """Add a funding line of `holder`, for one of its posts, one of its services, or the
    structure as a whole (exactly one object). The lines of a pooled post split its cost
    among funders by share."""
    require_manage_structure(actor, holder)
    funding = Funding(holder=holder)
    _assign(funding, data, fixed=("holder",))
    funding.full_clean()
    _check_pooled_shares(funding)
    funding.save()
    _journal_create(actor, funding, structure_id=holder.pk)
    return funding


@transaction.atomic
def funding_update(*, actor: Membership, funding: Funding, data: dict[str, Any]) -> Funding:
    require_manage_structure(actor, funding.holder)
    before = audit.snapshot(funding)
    _assign(funding, data, fixed=("holder",))
    funding.full_clean()
    _check_pooled_shares(funding)
    funding.save()
    _journal_update(actor, funding, before, structure_id=funding.holder_id)
    return funding


# --- professionalisation -------------------------------------------------------------------


@transaction.atomic
def training_create(*, actor: Membership, mediator: Mediator, data: dict[str, Any]) -> Training:
    """Record a training followed by one of the structure's mediators."""
    require_manage_structure(actor, mediator.structure)
    training = Training(mediator=mediator)
    _assign(training, data, fixed=("mediator",))
    training.full_clean()
    training.save()
    _journal_create(actor, training, structure_id=mediator.structure_id)
    return training


@transaction.atomic
def training_update(*, actor: Membership, training: Training, data: dict[str, Any]) -> Training:
    require_manage_structure(actor, training.mediator.structure)
    mediator = data.get("mediator")
    if mediator is not None and mediator.structure_id != training.mediator.structure_id:
        raise ValidationError({"mediator": "Cette personne est employée par une autre structure."})
    before = audit.snapshot(training)
    _assign(training, data)
    training.full_clean()
    training.save()
    _journal_update(actor, training, before, structure_id=training.mediator.structure_id)
    return training


def _check_attendees(structure: Structure, attendees: Iterable[Mediator]) -> list[Mediator]:
    attendees = list(attendees)
    if any(m.structure_id != structure.pk for m in attendees):
        raise ValidationError(
            {"attendees": "Les participant·es sont des personnes employées par la structure."}
        )
    return attendees


@transaction.atomic
def practice_review_create(
    *,
    actor: Membership,
    structure: Structure,
    data: dict[str, Any],
    attendees: Iterable[Mediator] = (),
) -> PracticeReview:
    """Record a practice-review session of `structure` and who attended."""
    require_manage_structure(actor, structure)
    attendees = _check_attendees(structure, attendees)
    review = PracticeReview(structure=structure)
    _assign(review, data, fixed=("structure",))
    review.full_clean()
    review.save()
    review.attendees.set(attendees)
    _journal_create(actor, review, structure_id=structure.pk)
    return review


@transaction.atomic
def practice_review_update(
    *,
    actor: Membership,
    review: PracticeReview,
    data: dict[str, Any],
    attendees: Iterable[Mediator] | None = None,
) -> PracticeReview:
    require_manage_structure(actor, review.structure)
    before = audit.snapshot(review)
    _assign(review, data, fixed=("structure",))
    review.full_clean()
    review.save()
    if attendees is not None:
        review.attendees.set(_check_attendees(review.structure, attendees))
    _journal_update(actor, review, before, structure_id=review.structure_id)
    return review


# --- funding alerts ---------------------------------------------------------------------------


def funding_alerts_notify(*, today=None) -> int:
    """Warn each structure's coordination, once per post and end date, of the posts whose
    funding ends within `LIEN_FUNDING_ALERT_MONTHS` with nothing to take over (the alert
    of the jobs page, brought to them: in Lien and by e-mail). Returns the posts warned."""
    today = today or timezone.localdate()
    months = settings.LIEN_FUNDING_ALERT_MONTHS
    active = Structure.objects.filter(is_active=True).values("pk")
    count = 0
    for post in posts_with_funding_ending(active, today, months):
        if post.funding_alert_for == post.funding_ends_on:
            continue
        coordination = User.objects.of_structure(post.structure_id, [Role.COORDINATOR])
        with transaction.atomic():
            Post.objects.filter(pk=post.pk).update(funding_alert_for=post.funding_ends_on)
            notify(
                recipients=coordination,
                kind="funding_ending",
                title=f"Financement d'un poste à renouveler : {post.title}",
                body=(
                    f"Le financement du poste « {post.title} » se termine le "
                    f"{post.funding_ends_on:%d/%m/%Y} et aucune ligne ne prend le relais. "
                    "Pour que l'emploi dure, cherchez dès maintenant un financement "
                    "(pérennisation)."
                ),
                url=reverse("jobs:post_detail", args=[post.pk]),
            )
        count += 1
    return count
