"""Which body a dysfunction report goes to, and which open reports it may duplicate."""

import datetime
import math

from django.db.models import Q
from django.utils import timezone

from lien.followup.models import OPEN_REPORT_STATUSES, RoutingRule, TechnicalReport
from lien.territories.models import LEVEL_DEPTH, TerritoryAncestor

DUPLICATE_DAYS = 30
DUPLICATE_METRES = 150


def _score(rule: RoutingRule) -> int:
    """More specific wins: a type of place, then a category, then a smaller territory."""
    return (
        100 * (rule.place_type_id is not None)
        + 10 * bool(rule.category)
        + LEVEL_DEPTH[rule.territory.level]
    )


def matching_rules(*, structure, category: str, commune, qpv=None, place_type=None):
    """The structure's active rules that apply to a report, most specific first."""
    around = set(
        TerritoryAncestor.objects.filter(descendant=commune).values_list("ancestor_id", flat=True)
    )
    if qpv is not None:
        around.add(qpv.pk)
    rules = (
        RoutingRule.objects.filter(structure=structure, is_active=True, territory_id__in=around)
        .filter(Q(category="") | Q(category=category))
        .filter(Q(place_type__isnull=True) | Q(place_type=place_type))
        .select_related("territory", "organisation")
    )
    return sorted(rules, key=lambda rule: (-_score(rule), rule.pk))


def route(**report) -> object | None:
    """The organisation responsible, or None when no rule applies (the report waits for
    the coordination to choose)."""
    rules = matching_rules(**report)
    return rules[0].organisation if rules else None


def _metres(a_lat, a_lon, b_lat, b_lon) -> float:
    """Distance on the sphere (haversine), plenty for "within 150 m"."""
    lat1, lon1, lat2, lon2 = map(
        math.radians, (float(a_lat), float(a_lon), float(b_lat), float(b_lon))
    )
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


def likely_duplicates(*, structure, category, commune, qpv=None, latitude=None, longitude=None,
                      address="", exclude=None) -> list[TechnicalReport]:  # fmt: skip
    """Open reports of the same category nearby in the last 30 days: same QPV, or within
    150 m when both have a map point, or the same address; else the same commune."""
    since = timezone.now() - datetime.timedelta(days=DUPLICATE_DAYS)
    candidates = TechnicalReport.objects.filter(
        structure=structure,
        category=category,
        commune=commune,
        status__in=OPEN_REPORT_STATUSES,
        reported_at__gte=since,
    ).order_by("-reported_at")
    if exclude is not None:
        candidates = candidates.exclude(pk=exclude.pk)
    found = []
    for report in candidates[:50]:
        if latitude is not None and longitude is not None and report.latitude is not None:
            near = _metres(latitude, longitude, report.latitude, report.longitude)
            if near <= DUPLICATE_METRES:
                found.append(report)
            continue
        if qpv is not None and report.qpv_id is not None:
            if report.qpv_id == qpv.pk:
                found.append(report)
            continue
        if address and report.address:
            if address.strip().lower() == report.address.strip().lower():
                found.append(report)
            continue
        found.append(report)
    return found[:5]
