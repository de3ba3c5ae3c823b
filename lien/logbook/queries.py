"""Reads of the logbook that the pages and exports share."""

import datetime

from django.db.models import Count, Prefetch, QuerySet, Sum
from django.utils import timezone

from lien.core.models import Membership, Role
from lien.logbook.models import AccessRequest, Intervention, Shift


def team_log(membership: Membership, filters: dict) -> QuerySet[Intervention]:
    """The structure's interventions, filtered, with everything a list row shows prefetched."""
    qs = Intervention.objects.visible_to(membership)
    if filters.get("start"):
        qs = qs.filter(started_at__date__gte=filters["start"])
    if filters.get("end"):
        qs = qs.filter(started_at__date__lte=filters["end"])
    if filters.get("mediator"):
        qs = qs.by_mediator(filters["mediator"])
    for name in ("activity_type", "domain", "outcome", "service"):
        if filters.get(name):
            qs = qs.filter(**{name: filters[name]})
    if filters.get("territory"):
        territory = filters["territory"]
        qs = (
            qs.filter(commune__ancestor_links__ancestor=territory)
            if territory.level != "qpv"
            else qs.filter(qpv=territory)
        )
    return with_row_data(qs)


def with_row_data(qs: QuerySet[Intervention]) -> QuerySet[Intervention]:
    return (
        qs.select_related(
            "author",
            "service",
            "commune",
            "qpv",
            "place_type",
            "activity_type",
            "domain",
            "situation_category",
            "outcome",
        )
        .prefetch_related(
            "mediators",
            Prefetch("access_requests", queryset=AccessRequest.objects.select_related("theme")),
        )
        .order_by("-started_at", "-created_at")
    )


def my_recent(membership: Membership, days: int = 30) -> QuerySet[Intervention]:
    since = timezone.now() - datetime.timedelta(days=days)
    return with_row_data(
        Intervention.objects.visible_to(membership)
        .by_mediator(membership.user)
        .filter(started_at__gte=since)
    )


def todays_shifts(membership: Membership) -> QuerySet[Shift]:
    today = timezone.localdate()
    qs = Shift.objects.visible_to(membership).on_day(today)
    if membership.role == Role.MEDIATOR:
        qs = qs.filter(mediators=membership.user)
    return qs.select_related("service", "commune", "qpv", "place_type").prefetch_related(
        "mediators"
    )


def summary(qs: QuerySet[Intervention]) -> dict:
    """Totals of a filtered list: interventions, people met, requests (counted apart)."""
    totals = qs.order_by().aggregate(count=Count("id", distinct=True), people=Sum("people_met"))
    requests = AccessRequest.objects.filter(intervention__in=qs.order_by().values("id")).aggregate(
        total=Sum("count")
    )
    return {
        "count": totals["count"] or 0,
        "people": totals["people"] or 0,
        "requests": requests["total"] or 0,
    }
