"""Signed links for partners without an account: one referral, one purpose, limited time.

The token signs the referral's id and its `link_nonce` with a salt used for nothing else,
and a timestamp. It opens only that referral (the URL carries its id too and both must
match), only until `LIEN_REFERRAL_LINK_DAYS` after it was made, and only while the nonce is
unchanged: a new link (or the referral's closing) revokes the previous ones.
"""

import secrets

from django.conf import settings
from django.core import signing

SALT = "lien.followup.referral-answer"


class LinkError(Exception):
    """Why a link is refused, in words for the person who clicked it."""


def max_age_seconds() -> int:
    return int(getattr(settings, "LIEN_REFERRAL_LINK_DAYS", 45)) * 86400


def new_nonce() -> str:
    return secrets.token_hex(16)


def make_token(referral) -> str:
    return signing.dumps(
        {"r": str(referral.pk), "n": referral.link_nonce}, salt=SALT, compress=True
    )


def check_token(referral, token: str) -> None:
    """Raise LinkError unless `token` was made for this referral and is still valid."""
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age_seconds())
    except signing.SignatureExpired:
        raise LinkError("Ce lien a expiré. Demandez un nouveau lien à la structure.") from None
    except signing.BadSignature:
        raise LinkError("Ce lien n'est pas valide.") from None
    if not isinstance(data, dict) or data.get("r") != str(referral.pk):
        raise LinkError("Ce lien ne correspond pas à cette mise en relation.")
    if not referral.link_nonce or data.get("n") != referral.link_nonce:
        raise LinkError("Ce lien a été remplacé ou n'est plus actif.")
