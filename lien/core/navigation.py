"""The navigation menu by role: each entry names the URL and the roles that see it."""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from lien.core.models import Membership, Role


@dataclass(frozen=True)
class NavEntry:
    label: str
    url_name: str
    roles: frozenset[str]


NAV: list[NavEntry] = [
    NavEntry("Accueil", "home", frozenset(Role.values)),
    NavEntry(
        "Ma structure",
        "structures:my_structure",
        frozenset({Role.MEDIATOR, Role.COORDINATOR}),
    ),
    NavEntry(
        "Structures",
        "structures:structure_list",
        frozenset({Role.FUNDER, Role.STEERING, Role.ADMIN}),
    ),
    NavEntry("Journal", "audit_log", frozenset({Role.COORDINATOR, Role.ADMIN})),
    NavEntry("Administration", "admin:index", frozenset({Role.ADMIN})),
]


def menu_for(membership: Membership, request) -> list[dict]:
    items = []
    for entry in NAV:
        if membership.role not in entry.roles:
            continue
        try:
            url = reverse(entry.url_name)
        except NoReverseMatch:
            continue
        items.append({"label": entry.label, "url": url, "current": request.path == url})
    return items
