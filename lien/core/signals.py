"""Journal logins, logouts and failed logins (connected in `CoreConfig.ready`).

The journal keeps who logged in, from where and under which membership; a failed login
keeps the e-mail that was typed, never the password.
"""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from lien.core import audit
from lien.core.models import AuditAction

#: A typed "e-mail" is kept in the journal only up to this length.
_MAX_ATTEMPTED_EMAIL = 254


def client_ip(request) -> str | None:
    """The client address as django-axes sees it, so both journals agree."""
    if request is None:
        return None
    from axes.helpers import get_client_ip_address

    return get_client_ip_address(request) or None


@receiver(user_logged_in, dispatch_uid="lien_audit_login")
def record_login(sender, request, user, **kwargs):
    from lien.core.middleware import SECOND_FACTOR_KEY, current_membership, second_factor_state

    membership = current_membership(request) if request is not None else None
    if request is not None and hasattr(request, "session"):
        request.session[SECOND_FACTOR_KEY] = second_factor_state(user)
    audit.record(
        action=AuditAction.LOGIN,
        actor=membership,
        user=user,
        structure_id=membership.structure_id if membership else None,
        ip_address=client_ip(request),
    )


@receiver(user_logged_out, dispatch_uid="lien_audit_logout")
def record_logout(sender, request, user, **kwargs):
    if user is None:
        return
    membership = getattr(request, "membership", None)
    if membership is not None and membership.user_id != user.pk:
        membership = None
    audit.record(
        action=AuditAction.LOGOUT,
        actor=membership,
        user=user,
        structure_id=membership.structure_id if membership else None,
        ip_address=client_ip(request),
    )


@receiver(user_login_failed, dispatch_uid="lien_audit_login_failed")
def record_login_failed(sender, credentials, request=None, **kwargs):
    # Django has already masked the password in `credentials`; keep only the e-mail.
    attempted = str(credentials.get("username") or credentials.get("email") or "")
    audit.record(
        action=AuditAction.LOGIN_FAILED,
        note=attempted[:_MAX_ATTEMPTED_EMAIL],
        ip_address=client_ip(request),
    )
