"""Token authentication for the API: `Authorization: Bearer <secret>`, nothing else.

A session cookie is not accepted: the API is called by programs, and a cookie would make
every write a cross-site request forgery target. A valid token puts its membership on the
request (`request.membership`), so every `visible_to(membership)` read and every service's
permission check applies exactly as on the pages.
"""

from django.utils import timezone
from ninja.security import HttpBearer

from lien.exchange import services
from lien.exchange.errors import ApiError
from lien.exchange.models import ApiToken, TokenState

BEARER_HELP = "Ajoutez l'en-tête « Authorization: Bearer <jeton> » (jetons : /api/jetons/)."
#: Longer than any secret we issue; anything longer is refused before hashing.
MAX_SECRET_LENGTH = 200


def unauthorized(detail: str) -> ApiError:
    return ApiError(401, detail, headers={"WWW-Authenticate": 'Bearer realm="lien"'})


class TokenAuth(HttpBearer):
    """Looks the secret up by its SHA-256; refuses unknown, revoked, expired tokens and
    tokens whose membership or account is no longer active, each with its reason.

    With `write=True` (the write operations), a read-only token is refused with a 403
    before the body is even read.
    """

    def __init__(self, *, write: bool = False):
        super().__init__()
        self.write = write

    def __call__(self, request):
        header = request.headers.get(self.header)
        if not header:
            raise unauthorized(f"Authentification requise. {BEARER_HELP}")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != self.openapi_scheme or not secret.strip():
            raise unauthorized(f"Schéma d'authentification non pris en charge. {BEARER_HELP}")
        return self.authenticate(request, secret.strip())

    def authenticate(self, request, token: str):
        if len(token) > MAX_SECRET_LENGTH:
            raise unauthorized("Jeton inconnu.")
        found = (
            ApiToken.objects.select_related(
                "user",
                "membership__user",
                "membership__structure",
                "membership__organisation",
                "membership__territory",
            )
            # A steering member's région comes without its outline (never needed here).
            .defer("membership__territory__geometry")
            .filter(key_hash=services.hash_secret(token))
            .first()
        )
        if found is None:
            raise unauthorized("Jeton inconnu.")
        now = timezone.now()
        state = found.state(now)
        if state == TokenState.REVOKED:
            raise unauthorized("Ce jeton a été révoqué.")
        if state == TokenState.EXPIRED:
            raise unauthorized("Ce jeton a expiré.")
        membership = found.membership
        if not (
            found.user.is_active and membership.is_active and membership.user_id == found.user_id
        ):
            raise unauthorized("Le rattachement de ce jeton n'est plus actif.")
        if self.write and not found.can_write:
            raise ApiError(
                403, "Ce jeton est en lecture seule : créez un jeton « lecture et écriture »."
            )
        services.token_touch(token=found, now=now)
        request.user = found.user
        request.membership = membership
        request.api_token = found
        return found


def require_roles(request, roles, detail: str) -> None:
    """The page's role rule, for the API: the same roles, the same refusal."""
    if request.membership.role not in roles:
        raise ApiError(403, detail)
