"""Puts the current membership (structure/organisation/territory + role) on the request."""

from lien.core.models import Membership

SESSION_KEY = "lien_membership_id"


def current_membership(request) -> Membership | None:
    """The membership chosen in the session, else the user's first active one."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    memberships = (
        Membership.objects.active()
        .filter(user=user)
        .select_related("user", "structure", "organisation", "territory")
    )
    chosen = request.session.get(SESSION_KEY)
    if chosen:
        for membership in memberships:
            if str(membership.pk) == chosen:
                return membership
    return memberships.first()


class CurrentMembershipMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = current_membership(request)
        return self.get_response(request)


class PermissionsPolicyMiddleware:
    """Adds the Permissions-Policy header (Django sets the other security headers)."""

    def __init__(self, get_response):
        from django.conf import settings

        self.policy = settings.PERMISSIONS_POLICY
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", self.policy)
        return response
