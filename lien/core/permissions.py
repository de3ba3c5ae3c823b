"""The one place that says who may do what.

Reads are scoped by `visible_to(membership)` on each tenant-scoped QuerySet; writes are
checked here by the services (and the views, to answer 403 early). A membership is the
role a user holds in one place; `None` (no membership) may do nothing.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from lien.core.models import Membership, Role


def has_role(membership: Membership | None, *roles: str) -> bool:
    return membership is not None and membership.role in roles


def require_role(membership: Membership | None, *roles: str) -> Membership:
    """Raise PermissionDenied unless the membership holds one of `roles`."""
    if not has_role(membership, *roles):
        raise PermissionDenied("Votre rôle ne permet pas cette action.")
    return membership  # type: ignore[return-value]


def can_manage_structure(membership: Membership | None, structure) -> bool:
    """Coordinators manage their own structure; administrators manage all."""
    if membership is None:
        return False
    if membership.role == Role.ADMIN:
        return True
    return membership.role == Role.COORDINATOR and membership.structure_id == structure.pk


def require_manage_structure(membership: Membership | None, structure) -> Membership:
    if not can_manage_structure(membership, structure):
        raise PermissionDenied("Seule la coordination de cette structure peut la modifier.")
    return membership  # type: ignore[return-value]


def role_required(*roles: str) -> Callable:
    """View decorator: log in first, then hold one of `roles` in the current membership."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            require_role(request.membership, *roles)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def membership_required(view):
    """View decorator: log in first, then hold any membership."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if request.membership is None:
            raise PermissionDenied("Votre compte n'est rattaché à aucune structure.")
        return view(request, *args, **kwargs)

    return wrapped
