from django.utils.functional import SimpleLazyObject

from lien.core.models import Membership
from lien.core.navigation import menu_for


def _memberships_of(user) -> list[Membership]:
    return list(
        Membership.objects.active()
        .filter(user=user)
        .select_related("structure", "organisation", "territory")
    )


def navigation(request):
    """The menu, the current membership and, for the switcher, the user's memberships.

    The memberships are fetched only when a template reads them (the header does, for
    signed-in users), and once per response.
    """
    membership = getattr(request, "membership", None)
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    return {
        "current_membership": membership,
        "nav_items": menu_for(membership, request) if membership else [],
        "user_memberships": SimpleLazyObject(lambda: _memberships_of(user) if signed_in else []),
    }
