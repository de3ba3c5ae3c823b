"""One shape for every error the API returns, in French:

    {"detail": "what went wrong", "errors": [{"field": "page_size", "message": "…"}]}

`field` names the parameter or body field at fault (dotted for nested values, e.g.
`access_requests.0.count`), or is null for an error about the request as a whole. Ninja's
validation errors, Django's PermissionDenied / ValidationError / Http404 and anything
unexpected are all turned into it: a client never has to parse an HTML page.
"""

import logging
from functools import wraps

from django.core.exceptions import PermissionDenied, RequestDataTooBig, ValidationError
from django.http import Http404, HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from ninja import errors as ninja_errors

logger = logging.getLogger("django.request")

INVALID = "Données invalides : voir le détail par champ."


class ApiError(Exception):
    """An answer other than 2xx, with its French message and field errors."""

    def __init__(self, status: int, detail: str, errors=None, headers=None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}

    @classmethod
    def invalid(cls, field: str | None, message: str) -> "ApiError":
        return cls(422, INVALID, [{"field": field, "message": message}])


def error_body(detail: str, errors=None) -> dict:
    return {"detail": detail, "errors": list(errors or [])}


# --- pydantic's messages, in French -------------------------------------------------------

_MESSAGES = {
    "missing": "Champ obligatoire.",
    "uuid_parsing": "Identifiant UUID attendu.",
    "uuid_type": "Identifiant UUID attendu.",
    "uuid_version": "Identifiant UUID attendu.",
    "date_parsing": "Date attendue au format AAAA-MM-JJ.",
    "date_type": "Date attendue au format AAAA-MM-JJ.",
    "date_from_datetime_parsing": "Date attendue au format AAAA-MM-JJ.",
    "date_from_datetime_inexact": "Date attendue au format AAAA-MM-JJ (sans heure).",
    "datetime_parsing": "Date et heure attendues (ISO 8601).",
    "datetime_type": "Date et heure attendues (ISO 8601).",
    "datetime_from_date_parsing": "Date et heure attendues (ISO 8601).",
    "int_parsing": "Nombre entier attendu.",
    "int_type": "Nombre entier attendu.",
    "int_from_float": "Nombre entier attendu (sans décimales).",
    "int_parsing_size": "Nombre trop grand.",
    "float_parsing": "Nombre attendu.",
    "float_type": "Nombre attendu.",
    "finite_number": "Nombre fini attendu.",
    "bool_parsing": "Booléen attendu (true ou false).",
    "bool_type": "Booléen attendu (true ou false).",
    "string_type": "Texte attendu.",
    "string_unicode": "Texte attendu.",
    "string_too_long": "Au plus {max_length} caractères.",
    "string_too_short": "Au moins {min_length} caractère(s).",
    "string_pattern_mismatch": "Format invalide.",
    "greater_than_equal": "Doit être supérieur ou égal à {ge}.",
    "greater_than": "Doit être supérieur à {gt}.",
    "less_than_equal": "Doit être inférieur ou égal à {le}.",
    "less_than": "Doit être inférieur à {lt}.",
    "literal_error": "Valeur non admise ; valeurs possibles : {expected}.",
    "enum": "Valeur non admise ; valeurs possibles : {expected}.",
    "too_long": "Au plus {max_length} éléments.",
    "too_short": "Au moins {min_length} élément(s).",
    "list_type": "Liste attendue.",
    "tuple_type": "Liste attendue.",
    "set_type": "Liste attendue.",
    "dict_type": "Objet JSON attendu.",
    "model_type": "Objet JSON attendu.",
    "model_attributes_type": "Objet JSON attendu.",
    "extra_forbidden": "Champ inconnu.",
    "json_invalid": "JSON illisible.",
    "json_type": "JSON attendu.",
}


def _message(error: dict) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    template = _MESSAGES.get(kind)
    if template is None:
        return "Valeur invalide."
    values = {key: str(value).replace(" or ", " ou ") for key, value in ctx.items()}
    try:
        return template.format(**values)
    except (KeyError, IndexError):
        return template.split(";")[0].rstrip(".") + "."


def _field(loc) -> str | None:
    """`("query", "page_size")` → "page_size"; `("body", "payload", "entries", 0)` →
    "entries.0" (the source and the name of the body parameter are not the client's)."""
    parts = list(loc or ())
    if parts and parts[0] in ("query", "path", "body", "header", "cookie", "form", "file"):
        source = parts.pop(0)
        if source == "body" and parts and parts[0] == "payload":
            parts.pop(0)
    return ".".join(str(p) for p in parts) or None


def validation_errors(errors: list[dict]) -> list[dict]:
    return [{"field": _field(e.get("loc")), "message": _message(e)} for e in errors]


def django_errors(exc: ValidationError) -> list[dict]:
    if hasattr(exc, "error_dict"):
        return [
            {"field": None if field == "__all__" else field, "message": message}
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
    return [{"field": None, "message": message} for message in exc.messages]


# --- the handlers --------------------------------------------------------------------------

_NINJA_MESSAGES = {
    "Cannot parse request body": "Corps de la requête illisible : un objet JSON est attendu.",
    "Unauthorized": "Authentification requise.",
    "Forbidden": "Accès refusé.",
    "Too many requests.": "Trop de requêtes : réessayez plus tard.",
}


def install(api) -> None:
    """Register the handlers on a NinjaAPI (replacing Ninja's English defaults)."""

    def respond(request, status, detail, errors=None, headers=None):
        response = api.create_response(request, error_body(detail, errors), status=status)
        for key, value in (headers or {}).items():
            response[key] = value
        return response

    @api.exception_handler(ApiError)
    def _api_error(request, exc: ApiError):
        return respond(request, exc.status, exc.detail, exc.errors, exc.headers)

    @api.exception_handler(ninja_errors.ValidationError)
    def _validation(request, exc):
        return respond(request, 422, INVALID, validation_errors(exc.errors))

    @api.exception_handler(ninja_errors.HttpError)
    def _http(request, exc):
        message = str(exc)
        detail = next((fr for en, fr in _NINJA_MESSAGES.items() if message.startswith(en)), message)
        return respond(request, exc.status_code, detail)

    @api.exception_handler(Http404)
    def _not_found(request, exc):
        return respond(request, 404, "Introuvable.")

    @api.exception_handler(PermissionDenied)
    def _denied(request, exc):
        return respond(request, 403, str(exc) or "Accès refusé.")

    @api.exception_handler(ValidationError)
    def _invalid(request, exc):
        return respond(request, 422, INVALID, django_errors(exc))

    @api.exception_handler(RequestDataTooBig)
    def _too_big(request, exc):
        return respond(request, 413, "Requête trop volumineuse.")

    @api.exception_handler(Exception)
    def _unexpected(request, exc):
        # Logged as Django logs a 500 (so the administrators' alerts still fire); the
        # client gets the same JSON shape as for any other error.
        logger.error("Erreur interne de l'API : %s", request.path, exc_info=exc)
        return respond(request, 500, "Erreur interne du serveur : elle a été signalée.")


def json_method_not_allowed(view):
    """Ninja answers a method a path does not take with a plain-text 405: give it the JSON
    shape (and keep the Allow header)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith(
            "application/json"
        ):
            allowed = response.get("Allow", "")
            replaced = JsonResponse(
                error_body(f"Méthode {request.method} non admise ici (admises : {allowed})."),
                status=405,
            )
            replaced["Allow"] = allowed
            return replaced
        return response

    return wrapped


@csrf_exempt
def json_not_found(request):
    """Any address under /api/ that names no operation: the JSON shape, with a hint when
    only the final slash is missing (the API's paths all end with one). A page under
    /api/ (the tokens page) keeps Django's slash redirect."""
    detail = f"Adresse inconnue de l'API : {request.path} (la liste : /api/docs)."
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.url_name != "not_found":
            if match.namespace != "api":
                return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
            detail = (
                f"Adresse inconnue de l'API : {request.path} ; voulez-vous dire {request.path}/ ?"
            )
    return JsonResponse(error_body(detail), status=404)
