"""Reads that span posts and funding lines: the funding alerts."""

import calendar
import datetime
from collections.abc import Iterable

from django.db.models import DateField, Exists, Func, Min, OuterRef, Q, QuerySet

from lien.jobs.models import Funding, Post, PostStatus


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
