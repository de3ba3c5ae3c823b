"""Reads that span posts, contracts and funding lines: the funding alerts, the jobs measures
of the indicators and the regional job observatory."""

import calendar
import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, DateField, Exists, Func, Min, OuterRef, Q, QuerySet, Sum

from lien.jobs.models import (
    Contract,
    Funding,
    Mediator,
    Post,
    PostStatus,
    PracticeReview,
    Training,
)


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` later, or the month's last day (31 Aug + 6 → 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return datetime.date(year, month + 1, min(day.day, last))


class NextDay(Func):
    """The day after a date column, the same on SQLite and PostgreSQL."""

    output_field = DateField()

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="DATE(%(expressions)s, '+1 day')")

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="(%(expressions)s + 1)")


def posts_with_funding_ending(structure_ids: Iterable, today: datetime.date, months: int):
    """Posts of these structures (not closed) with a funding line that ends between today
    and `months` months from today (both included) and no replacement: no other line of
    the post that ends later and starts at the latest the day after that end (a line
    that starts the next day leaves no gap, so it is a replacement).

    Each post carries `funding_ends_on`: the earliest such end.
    """
    if not isinstance(structure_ids, QuerySet):
        structure_ids = list(structure_ids)  # else a subquery
    limit = add_months(today, months)
    replacement = Funding.objects.filter(
        post_id=OuterRef("post_id"),
        ends_on__gt=OuterRef("ends_on"),
        starts_on__lte=NextDay(OuterRef("ends_on")),
    )
    ending = Funding.objects.filter(
        post__structure_id__in=structure_ids,
        ends_on__gte=today,
        ends_on__lte=limit,
    ).exclude(Exists(replacement))
    return (
        Post.objects.filter(pk__in=ending.values("post_id"))
        .exclude(status=PostStatus.CLOSED)
        .annotate(
            funding_ends_on=Min(
                "funding_lines__ends_on",
                filter=Q(funding_lines__in=ending.values("pk")),
            )
        )
        .order_by("funding_ends_on", "title")
    )


# --- jobs figures: the measures of the indicators and the regional job observatory ----------
#
# A job (emploi) is a post. It is **created** on the day its first contract starts. It is
# **consolidated** when a post that existed before the period (a contract started earlier)
# either gets an open-ended, non-aided contract after an aided one (the aided job became a
# lasting one) or gets a funding line at the "pérennisation" stage. The framework agreement of
# the seeds counts both against its target ("3 000 emplois créés et consolidés"). A pooled
# post counts once, for its employer.

POSITIVE_EXITS = ("permanent_job", "job_elsewhere", "qualifying_training")
LASTING_STAGE = "perennisation"


@dataclass(frozen=True)
class JobScope:
    """Which posts (and the people on them) a figure counts. `None`: no restriction."""

    structure_ids: tuple | None = None
    service_ids: tuple | None = None
    territory_id: int | None = None
    employer_type: str = ""
    domains: tuple = ()

    def structure_q(self, path: str) -> Q:
        """The condition on a structure reached by `path` (e.g. "post__structure")."""
        q = Q()
        if self.structure_ids is not None:
            q &= Q(**{f"{path}_id__in": self.structure_ids})
        if self.territory_id is not None:
            q &= Q(**{f"{path}__commune__ancestor_links__ancestor": self.territory_id})
        if self.employer_type:
            q &= Q(**{f"{path}__employer_type__code": self.employer_type})
        return q

    def posts(self) -> QuerySet:
        qs = Post.objects.filter(self.structure_q("structure"))
        if self.service_ids is not None:
            qs = qs.filter(service_id__in=self.service_ids)
        if self.domains:
            qs = qs.filter(service__domains__code__in=self.domains)
        return qs

    def mediators(self) -> QuerySet:
        """People employed in scope: by structure, or by the posts of the services."""
        if self.service_ids is None and not self.domains:
            return Mediator.objects.filter(self.structure_q("structure"))
        return Mediator.objects.filter(contracts__post__in=self.posts()).distinct()


@dataclass(frozen=True)
class JobEvent:
    post_id: object
    kind: str  # "created" or "consolidated"
    on: datetime.date
    fte: Decimal
    contract_type: str
    employer_type: str
    commune_id: int | None
    service_id: object


def job_events(scope: JobScope, start: datetime.date, end: datetime.date) -> list[JobEvent]:
    """Jobs created or consolidated between `start` and `end` (both included).

    One query for the contracts and one for the lasting-stage funding lines of the posts in
    scope; the order of each post's contracts decides (it is a sequence, not a filter)."""
    posts = scope.posts()
    contracts = (
        Contract.objects.filter(post__in=posts)
        .order_by("post_id", "starts_on")
        .values_list(
            "post_id",
            "starts_on",
            "ends_on",
            "fte",
            "contract_type__label",
            "contract_type__is_aided",
            "post__structure__employer_type__label",
            "post__structure__commune_id",
            "post__service_id",
        )
    )
    lasting = dict(
        Funding.objects.filter(
            post__in=posts, stage__code=LASTING_STAGE, starts_on__gte=start, starts_on__lte=end
        )
        .values("post_id")
        .annotate(first=Min("starts_on"))
        .values_list("post_id", "first")
    )
    by_post: dict = {}
    for row in contracts:
        by_post.setdefault(row[0], []).append(row)
    events = []
    for post_id, rows in by_post.items():
        first = rows[0]
        _, begins, _, fte, label, _, employer, commune, service = first
        if start <= begins <= end:
            events.append(
                JobEvent(post_id, "created", begins, fte, label, employer, commune, service)
            )
            continue
        if begins > end:
            continue
        found = None
        for i, row in enumerate(rows[1:], start=1):
            if (
                start <= row[1] <= end
                and not row[5]
                and row[2] is None
                and any(earlier[5] for earlier in rows[:i])
            ):
                found = JobEvent(
                    post_id, "consolidated", row[1], row[3], row[4], employer, commune, service
                )
                break
        if found is None and post_id in lasting:
            on = lasting[post_id]
            current = [r for r in rows if r[1] <= on] or rows
            found = JobEvent(
                post_id, "consolidated", on, current[-1][3], current[-1][4], employer, commune,
                service,
            )  # fmt: skip
        if found is not None:
            events.append(found)
    return events


def _active_on(day: datetime.date) -> Q:
    return Q(starts_on__lte=day) & (Q(ends_on__isnull=True) | Q(ends_on__gte=day))


def headcount(scope: JobScope, day: datetime.date) -> tuple[int, Decimal]:
    """(people in post, full-time equivalents) on `day`."""
    values = Contract.objects.filter(_active_on(day), post__in=scope.posts()).aggregate(
        people=Count("mediator_id", distinct=True), fte=Sum("fte")
    )
    return values["people"], values["fte"] or Decimal("0")


def jobs_values(codes: set[str], scope: JobScope, start: datetime.date, end: datetime.date):
    """The jobs measures of the indicators for [start, end] (days, both included)."""
    out: dict = {}
    if codes & {"mediators_in_post", "fte"}:
        people, fte = headcount(scope, end)
        out["mediators_in_post"], out["fte"] = people, fte
    if "jobs_created" in codes:
        out["jobs_created"] = len(job_events(scope, start, end))
    if codes & {"positive_exits", "aided_exits", "departures"}:
        ended = Contract.objects.filter(
            post__in=scope.posts(), ends_on__gte=start, ends_on__lte=end
        )
        aided = Q(contract_type__is_aided=True)
        exits = ended.aggregate(
            aided=Count("pk", filter=aided),
            positive=Count("pk", filter=aided & Q(exit_outcome__in=POSITIVE_EXITS)),
        )
        out["aided_exits"], out["positive_exits"] = exits["aided"], exits["positive"]
        still_employed = Contract.objects.filter(
            _active_on(end + datetime.timedelta(days=1)),
            mediator_id=OuterRef("mediator_id"),
            post__structure_id=OuterRef("post__structure_id"),
        )
        out["departures"] = (
            ended.exclude(Exists(still_employed)).values("mediator_id").distinct().count()
        )
    if "training_hours" in codes:
        out["training_hours"] = Training.objects.filter(
            mediator__in=scope.mediators(), starts_on__gte=start, starts_on__lte=end
        ).aggregate(hours=Sum("hours"))["hours"] or Decimal("0")
    if "practice_review_attendees" in codes:
        out["practice_review_attendees"] = (
            PracticeReview.attendees.through.objects.filter(
                mediator__in=scope.mediators(),
                practicereview__held_on__gte=start,
                practicereview__held_on__lte=end,
            )
            .values("mediator_id")
            .distinct()
            .count()
        )
    return {code: out[code] for code in codes if code in out}


def funding_by_program(scope: JobScope, start: datetime.date, end: datetime.date):
    """(program label, amount in € for the days of [start, end] the lines cover) — a line
    over two years counts for the share of its days inside the period. Lines on a post, a
    service or a structure in scope all count."""
    posts = scope.posts()
    q = Q(post__in=posts)
    if scope.service_ids is not None:
        q |= Q(service_id__in=scope.service_ids)
    else:
        q |= Q(service__isnull=False) & scope.structure_q("holder")
        q |= Q(structure__isnull=False) & scope.structure_q("holder")
    totals: dict[str, Decimal] = {}
    lines = Funding.objects.filter(q, starts_on__lte=end, ends_on__gte=start).values_list(
        "program__label", "amount", "starts_on", "ends_on"
    )
    for label, amount, begins, ends in lines:
        days = (ends - begins).days + 1
        inside = (min(ends, end) - max(begins, start)).days + 1
        totals[label] = totals.get(label, Decimal("0")) + amount * inside / days
    return sorted(
        ((label, value.quantize(Decimal("1"))) for label, value in totals.items()),
        key=lambda item: -item[1],
    )
