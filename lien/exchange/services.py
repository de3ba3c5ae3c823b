"""The write path of API tokens: create, revoke, and note their use.

A token is created for one of the person's own active memberships; its secret is returned
once to the caller and only its SHA-256 is stored. Creating and revoking are journaled as
account-security events, in the structure's journal when the membership has one.
"""

import datetime
import hashlib
import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from lien.core import audit
from lien.core.models import ORGANISATION_ROLES, STRUCTURE_ROLES, AuditAction, Membership, User
from lien.exchange.models import KEY_PREFIX_LENGTH, ApiToken, TokenScope

#: A person keeps at most this many usable tokens (revoke one to create another).
MAX_ACTIVE_TOKENS = 20
#: `last_used_at` is written at most this often per token: not one write per request.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)

#: Who may hold a write token (see `token_create`).
WRITE_ROLES = STRUCTURE_ROLES | ORGANISATION_ROLES


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@transaction.atomic
def token_create(
    *,
    user: User,
    membership: Membership,
    name: str,
    scope: str,
    expires_at: datetime.datetime | None = None,
    ip_address: str | None = None,
) -> tuple[ApiToken, str]:
    """Create a token acting as `membership`; returns it with its secret (shown once).

    Only `WRITE_ROLES` may hold a write token: the structures write their records, funders
    and partners answer the reports and referrals addressed to them; steering and
    administration have no write in the API, and would gain nothing but risk from one.
    """
    if membership.user_id != user.pk or not membership.is_active or not user.is_active:
        raise PermissionDenied("Ce rattachement n'est pas le vôtre, ou n'est plus actif.")
    if scope == TokenScope.WRITE and membership.role not in WRITE_ROLES:
        raise ValidationError(
            {
                "scope": "Ce rattachement n'écrit pas par l'API (pilotage, administration) : "
                "choisissez la lecture seule."
            }
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "La date d'expiration doit être dans le futur."})
    if ApiToken.objects.for_user(user).usable().count() >= MAX_ACTIVE_TOKENS:
        raise ValidationError(
            f"Vous avez déjà {MAX_ACTIVE_TOKENS} jetons actifs : révoquez-en un d'abord."
        )
    secret = secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        membership=membership,
        name=(name or "").strip(),
        scope=scope,
        key_prefix=secret[:KEY_PREFIX_LENGTH],
        key_hash=hash_secret(secret),
        expires_at=expires_at,
    )
    token.full_clean(exclude=["user", "membership"])
    token.save(force_insert=True)
    audit.record(
        action=AuditAction.SECURITY,
        actor=membership,
        obj=token,
        structure_id=membership.structure_id,
        note=f"jeton d'API créé : « {token.name} » ({token.get_scope_display().lower()})",
        ip_address=ip_address,
    )
    return token, secret


@transaction.atomic
def token_revoke(*, user: User, token: ApiToken, ip_address: str | None = None) -> ApiToken:
    """Revoke one of the person's own tokens; revoking twice changes nothing."""
    token = ApiToken.objects.select_for_update().select_related("membership").get(pk=token.pk)
    if token.user_id != user.pk:
        raise PermissionDenied("Ce jeton n'est pas le vôtre.")
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit.record(
        action=AuditAction.SECURITY,
        actor=token.membership,
        user=user,
        obj=token,
        structure_id=token.membership.structure_id,
        note=f"jeton d'API révoqué : « {token.name} »",
        ip_address=ip_address,
    )
    return token


def token_touch(*, token: ApiToken, now: datetime.datetime | None = None) -> None:
    """Note that the token was used, at most once per `LAST_USED_RESOLUTION`.

    One conditional UPDATE, outside any journal: concurrent requests write it once.
    """
    now = now or timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION)
    ).update(last_used_at=now)
    token.last_used_at = now
