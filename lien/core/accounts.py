"""Accounts: invitations, second factor (TOTP and recovery codes), ending sessions.

The one write path for what a person does to their own account and for inviting people.
Every change is journaled; nothing here ever sets a password chosen by someone else:
an invited person sets their own from an expiring link.
"""

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from lien.core import audit
from lien.core.models import AuditAction, Membership, Role, User

RECOVERY_CODE_COUNT = 10
TOTP_DEVICE_NAME = "Application d'authentification"
RECOVERY_DEVICE_NAME = "Codes de secours"

#: Roles a coordinator may give when inviting someone into their structure.
COORDINATOR_INVITABLE_ROLES = (Role.MEDIATOR, Role.COORDINATOR)


# --- Second factor -------------------------------------------------------------------


def _remove_devices(user: User) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


def _end_sessions(user_id: int) -> None:
    """Raise the session generation: every session of the account stops matching."""
    User.objects.filter(pk=user_id).update(session_generation=F("session_generation") + 1)


def two_factor_required(user: User) -> bool:
    """True when one of the user's active roles requires a second factor.

    Demo accounts are exempt (they only log in where demo logins are enabled, never in
    production), so that the demo needs no authenticator app.
    """
    roles = settings.LIEN_TWO_FACTOR_ROLES
    if not roles or not user.is_authenticated or user.is_demo:
        return False
    if user.is_superuser and Role.ADMIN in roles:
        return True
    return Membership.objects.active().filter(user=user, role__in=roles).exists()


def confirmed_totp(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


@transaction.atomic
def totp_start(*, user: User) -> TOTPDevice:
    """A fresh unconfirmed TOTP device (any earlier unconfirmed one is discarded)."""
    if confirmed_totp(user) is not None:
        raise ValidationError("La double authentification est déjà activée sur ce compte.")
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)


@transaction.atomic
def totp_confirm(*, user: User, device: TOTPDevice, token: str, ip_address=None) -> list[str]:
    """Confirm the device with a code from the app; returns the new recovery codes."""
    if device.user_id != user.pk or device.confirmed:
        raise ValidationError("Cette activation n'est plus valable : recommencez.")
    token = (token or "").replace(" ", "")
    if not (token.isdigit() and len(token) == device.digits) or not device.verify_token(token):
        raise ValidationError(
            {"token": "Ce code ne correspond pas. Vérifiez l'heure du téléphone et réessayez."}
        )
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    audit.record(
        action=AuditAction.SECURITY,
        user=user,
        obj=user,
        note="double authentification activée",
        ip_address=ip_address,
    )
    return recovery_codes_generate(user=user, ip_address=ip_address)


@transaction.atomic
def recovery_codes_generate(*, user: User, ip_address=None) -> list[str]:
    """Replace the user's recovery codes by new single-use ones (shown once)."""
    if confirmed_totp(user) is None:
        raise ValidationError("Activez d'abord la double authentification.")
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    audit.record(
        action=AuditAction.SECURITY,
        user=user,
        obj=user,
        note="codes de secours régénérés",
        ip_address=ip_address,
    )
    return codes


@transaction.atomic
def two_factor_disable(*, user: User, ip_address=None) -> None:
    """Remove the second factor; refused when one of the user's roles requires it."""
    if two_factor_required(user):
        raise PermissionDenied(
            "Votre rôle exige la double authentification : elle ne peut pas être désactivée."
        )
    _remove_devices(user)
    audit.record(
        action=AuditAction.SECURITY,
        user=user,
        obj=user,
        note="double authentification désactivée",
        ip_address=ip_address,
    )


# --- Sessions and password ------------------------------------------------------------


@transaction.atomic
def sessions_end_all(*, user: User, ip_address=None) -> User:
    """End every session of the user (the caller keeps its own with
    `update_session_auth_hash`)."""
    _end_sessions(user.pk)
    user.refresh_from_db(fields=["session_generation"])
    audit.record(
        action=AuditAction.SECURITY,
        user=user,
        obj=user,
        note="toutes les sessions fermées",
        ip_address=ip_address,
    )
    return user


@transaction.atomic
def password_set(*, user: User, password: str, note: str, ip_address=None) -> User:
    """Set the user's own password after Django's validators (length, common list…)."""
    validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    audit.record(action=AuditAction.SECURITY, user=user, obj=user, note=note, ip_address=ip_address)
    return user


# --- Invitations ---------------------------------------------------------------------


def invitation_path(user: User) -> str:
    """The path of the link that lets `user` choose a password. The token is Django's
    password-reset token: it expires after LIEN_INVITATION_DAYS and is spent as soon as
    a password is set (it covers the password hash and the last login)."""
    return reverse(
        "account_invitation",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )


def _send_link(*, user: User, subject: str, intro: str) -> None:
    from lien.notifications.services import absolute_url, send_external_email

    body = (
        f"Bonjour,\n\n{intro}\n\n"
        f"Choisissez votre mot de passe en suivant ce lien (valable "
        f"{settings.LIEN_INVITATION_DAYS} jours, une seule fois) :\n"
        f"{absolute_url(invitation_path(user))}\n\n"
        "Si vous n'attendiez pas ce message, ignorez-le : rien ne sera fait.\n\n— Lien"
    )
    send_external_email(to=[user.email], subject=subject, body=body)


def _check_can_invite(actor: Membership, role: str, structure) -> None:
    if actor.role == Role.ADMIN:
        return
    if actor.role != Role.COORDINATOR or structure is None or structure.pk != actor.structure_id:
        raise PermissionDenied("Seule la coordination d'une structure peut y inviter quelqu'un.")
    if role not in COORDINATOR_INVITABLE_ROLES:
        raise PermissionDenied(
            "La coordination invite des médiateur·rices ou des coordinateur·rices."
        )


@transaction.atomic
def user_invite(
    *,
    actor: Membership,
    email: str,
    full_name: str,
    role: str,
    structure=None,
    ip_address=None,
) -> Membership:
    """Give `email` a membership (creating the account if needed, with no password) and
    send the invitation link. An existing active membership is an error, not a duplicate."""
    _check_can_invite(actor, role, structure)
    email = User.objects.normalize_email(email).strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    created = user is None
    if created:
        user = User(email=email, full_name=full_name.strip())
        user.set_unusable_password()
        user.full_clean()
        user.save()
        audit.record_create(actor=actor, obj=user)
    elif Membership.objects.active().filter(user=user, role=role, structure=structure).exists():
        raise ValidationError({"email": "Cette personne a déjà ce rôle dans cette structure."})
    membership = Membership(user=user, role=role, structure=structure)
    membership.full_clean()
    membership.save()
    audit.record_create(actor=actor, obj=membership)
    audit.record(
        action=AuditAction.INVITE,
        actor=actor,
        obj=user,
        structure_id=structure.pk if structure else None,
        note=f"rôle : {membership.get_role_display()}",
        ip_address=ip_address,
    )
    if created or not user.has_usable_password():
        _send_link(
            user=user,
            subject="Invitation à rejoindre Lien",
            intro=(
                f"{actor.user} vous invite à rejoindre Lien ({membership.scope_label}) "
                f"en tant que {membership.get_role_display().lower()}."
            ),
        )
    else:
        from lien.notifications.services import absolute_url, send_external_email

        send_external_email(
            to=[user.email],
            subject="Nouveau rôle dans Lien",
            body=(
                f"Bonjour,\n\n{actor.user} vous a donné le rôle "
                f"« {membership.get_role_display()} » ({membership.scope_label}) dans Lien.\n"
                f"Connectez-vous : {absolute_url(reverse('login'))}\n\n— Lien"
            ),
        )
    return membership


@transaction.atomic
def invitation_resend(*, actor: Membership, membership: Membership, ip_address=None) -> None:
    """Send a fresh link to someone who has not chosen a password yet."""
    _check_can_invite(actor, membership.role, membership.structure)
    user = membership.user
    if user.has_usable_password():
        raise ValidationError("Cette personne a déjà choisi son mot de passe.")
    audit.record(
        action=AuditAction.INVITE,
        actor=actor,
        obj=user,
        structure_id=membership.structure_id,
        note="invitation renvoyée",
        ip_address=ip_address,
    )
    _send_link(
        user=user,
        subject="Invitation à rejoindre Lien (nouveau lien)",
        intro="Voici un nouveau lien pour rejoindre Lien.",
    )


@transaction.atomic
def membership_deactivate(*, actor: Membership, membership: Membership, ip_address=None):
    """End someone's role in the structure; their sessions there end with it."""
    _check_can_invite(actor, membership.role, membership.structure)
    if membership.pk == actor.pk:
        raise ValidationError("Vous ne pouvez pas retirer votre propre rattachement.")
    if not membership.is_active:
        raise ValidationError("Ce rattachement est déjà inactif.")
    before = audit.snapshot(membership)
    membership.is_active = False
    membership.save(update_fields=["is_active"])
    audit.record_update(actor=actor, obj=membership, before=before)
    _end_sessions(membership.user_id)
    return membership


@transaction.atomic
def invitation_send_new_account(*, user: User, by: User) -> None:
    """The invitation of an account an administrator has just created."""
    audit.record(
        action=AuditAction.INVITE, user=by, obj=user, note="compte créé par l'administration"
    )
    _send_link(
        user=user,
        subject="Invitation à rejoindre Lien",
        intro=f"{by} vous a ouvert un compte sur Lien.",
    )


@transaction.atomic
def two_factor_reset(*, user: User, by: User) -> None:
    """An administrator removes a person's second factor (lost phone and codes); the
    person sets up a new one at the next login, and every session ends."""
    _remove_devices(user)
    _end_sessions(user.pk)
    audit.record(action=AuditAction.SECURITY, user=by, obj=user, note="second facteur réinitialisé")


def password_reset_send(*, email: str) -> None:
    """Send a password link to an active account with this address; say nothing either
    way (the page answers the same), so the form cannot be used to probe addresses."""
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None or user.is_demo:
        return
    with transaction.atomic():
        audit.record(action=AuditAction.SECURITY, user=user, obj=user, note="lien de mot de passe")
        _send_link(
            user=user,
            subject="Choisir un nouveau mot de passe Lien",
            intro="Une demande de nouveau mot de passe a été faite pour votre compte.",
        )
