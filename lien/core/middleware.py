"""Puts the current membership (structure/organisation/territory + role) on the request."""

from django.contrib.auth.views import redirect_to_login
from django.urls import reverse

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


#: Session key: what the second factor asks of this session ("verify", "setup" or "").
SECOND_FACTOR_KEY = "lien_second_factor"
#: Paths a half-logged-in person may still open: the second-factor pages themselves,
#: logging out, setting a password, static files and health checks.
SECOND_FACTOR_OPEN_PREFIXES = ("/accounts/", "/static/", "/healthz", "/sw.js", "/manifest")


def second_factor_state(user) -> str:
    """'verify' when the user has an authenticator, 'setup' when a role requires one and
    none is set up yet, '' otherwise. Computed at login and kept in the session, so that
    ordinary requests cost no query."""
    from lien.core.accounts import confirmed_totp, two_factor_required

    if confirmed_totp(user) is not None:
        return "verify"
    return "setup" if two_factor_required(user) else ""


class SecondFactorMiddleware:
    """Until the second factor is given, a session that needs one only reaches the
    account pages: it is sent to the code page, or to set up an authenticator when the
    role requires one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not user.is_verified():
            state = request.session.get(SECOND_FACTOR_KEY)
            if state is None:
                state = request.session[SECOND_FACTOR_KEY] = second_factor_state(user)
            if state and not request.path.startswith(SECOND_FACTOR_OPEN_PREFIXES):
                target = (
                    "account_two_factor_verify" if state == "verify" else "account_two_factor_setup"
                )
                return redirect_to_login(request.get_full_path(), reverse(target))
        return self.get_response(request)
