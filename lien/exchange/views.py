"""The personal API tokens page (/api/jetons/) and the files of the API documentation."""

from pathlib import Path

import ninja
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from lien.core.models import Membership
from lien.core.signals import client_ip
from lien.exchange import services
from lien.exchange.forms import TokenCreateForm
from lien.exchange.models import ApiToken


def _login_required(view):
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _errors_into(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, messages_ in exc.message_dict.items():
            for message in messages_:
                form.add_error(field if field in form.fields else None, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)


@never_cache
@_login_required
def token_list(request):
    """My tokens, and a form to create one; a new token's secret is shown on this answer
    only (never stored, never put in the session)."""
    memberships = (
        Membership.objects.active()
        .filter(user=request.user)
        .select_related("structure", "organisation", "territory")
    )
    current = getattr(request, "membership", None)
    form = TokenCreateForm(
        request.POST or None,
        memberships=memberships,
        initial={"membership": current.pk if current else None},
    )
    created = secret = None
    if request.method == "POST" and form.is_valid():
        try:
            created, secret = services.token_create(
                user=request.user,
                membership=form.cleaned_data["membership"],
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                expires_at=form.expires_at(),
                ip_address=client_ip(request),
            )
        except ValidationError as exc:
            _errors_into(form, exc)
        except PermissionDenied as exc:
            form.add_error("membership", str(exc))
        else:
            form = TokenCreateForm(
                memberships=memberships, initial={"membership": created.membership_id}
            )
    tokens = ApiToken.objects.for_user(request.user).select_related(
        "membership__structure", "membership__organisation", "membership__territory"
    )
    return render(
        request,
        "exchange/token_list.html",
        {
            "form": form,
            "tokens": tokens,
            "created": created,
            "secret": secret,
            "has_memberships": bool(memberships),
        },
    )


@require_POST
@_login_required
def token_revoke(request, pk):
    token = get_object_or_404(ApiToken.objects.for_user(request.user), pk=pk)
    services.token_revoke(user=request.user, token=token, ip_address=client_ip(request))
    messages.success(
        request,
        _("Le jeton « %(name)s » est révoqué : il ne donne plus accès à l'API.")
        % {"name": token.name},
    )
    return redirect("exchange:token_list")


# --- the documentation's files --------------------------------------------------------------

#: Swagger UI as django-ninja ships it (the pinned version), served from this site.
_NINJA_STATIC = Path(ninja.__file__).parent / "static" / "ninja"
DOCS_ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-init.js": "text/javascript",
}


@require_safe
def docs_asset(request, name: str):
    if name not in DOCS_ASSETS:
        raise Http404
    response = FileResponse(
        (_NINJA_STATIC / name).open("rb"), content_type=f"{DOCS_ASSETS[name]}; charset=utf-8"
    )
    response["Cache-Control"] = "public, max-age=86400"
    return response
