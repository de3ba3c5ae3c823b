"""Account pages: second factor, recovery codes, password, sessions, invitations, team."""

from django import forms
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.utils.encoding import force_str
from django.utils.http import url_has_allowed_host_and_scheme, urlsafe_base64_decode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from lien.core import accounts
from lien.core.middleware import SECOND_FACTOR_KEY
from lien.core.models import Membership, Role, User
from lien.core.permissions import role_required
from lien.core.qr import qr_svg
from lien.core.signals import client_ip
from lien.core.validators import reject_markup

SETUP_SESSION_KEY = "lien_totp_setup_device"


def _safe_next(request, default: str = "home") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return resolve_url(default) if default else ""


class TokenForm(forms.Form):
    token = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=16,
        validators=[reject_markup],
        help_text=gettext_lazy(
            "Les 6 chiffres de votre application d'authentification, ou un code de secours."
        ),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "text",
                "autofocus": True,
                "spellcheck": "false",
            }
        ),
    )

    def clean_token(self) -> str:
        token = self.cleaned_data["token"].replace(" ", "").lower()
        if not token.isascii() or not token.isalnum():
            raise forms.ValidationError(_("Un code ne contient que des chiffres et des lettres."))
        return token


# --- Second factor -------------------------------------------------------------------


def _qr_svg(device: TOTPDevice) -> str:
    return qr_svg(
        device.config_url, label=_("Image à scanner avec l'application d'authentification")
    )


def _secret_groups(device: TOTPDevice) -> str:
    from base64 import b32encode

    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@never_cache
@login_required
def two_factor_setup(request):
    """Set up an authenticator app: QR code and key, then a code to confirm."""
    user = request.user
    if accounts.confirmed_totp(user) is not None:
        messages.info(request, _("La double authentification est déjà activée."))
        return redirect("account_security")
    device = TOTPDevice.objects.filter(
        user=user, confirmed=False, pk=request.session.get(SETUP_SESSION_KEY)
    ).first()
    if device is None:
        device = accounts.totp_start(user=user)
        request.session[SETUP_SESSION_KEY] = device.pk
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = accounts.totp_confirm(
                user=user,
                device=device,
                token=form.cleaned_data["token"],
                ip_address=client_ip(request),
            )
        except ValidationError as error:
            form.add_error("token", error.message_dict.get("token", error.messages))
        else:
            otp_login(request, device)
            request.session.pop(SETUP_SESSION_KEY, None)
            request.session[SECOND_FACTOR_KEY] = "verify"
            return render(
                request,
                "core/account/recovery_codes.html",
                {"codes": codes, "next": _safe_next(request), "just_enabled": True},
            )
    return render(
        request,
        "core/account/two_factor_setup.html",
        {
            "form": form,
            "qr_svg": _qr_svg(device),
            "secret": _secret_groups(device),
            "required": accounts.two_factor_required(user),
            "next": _safe_next(request, ""),
        },
    )


@never_cache
@sensitive_post_parameters("token")
@login_required
def two_factor_verify(request):
    """Second step of the login: a code from the app or a recovery code."""
    user = request.user
    if user.is_verified():
        return redirect(_safe_next(request))
    if accounts.confirmed_totp(user) is None:
        return redirect("account_two_factor_setup")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(user, form.cleaned_data["token"])
        if device is None:
            form.add_error(
                "token",
                _(
                    "Ce code n'est pas valable. Après plusieurs erreurs, chaque nouvel essai "
                    "est retardé de quelques secondes."
                ),
            )
        else:
            otp_login(request, device)
            if device.persistent_id.startswith("otp_static"):
                left = accounts.recovery_codes_left(user)
                messages.warning(
                    request,
                    _(
                        "Vous avez utilisé un code de secours ; il vous en reste %(left)s. "
                        "Régénérez-les depuis « Sécurité du compte »."
                    )
                    % {"left": left},
                )
            return redirect(_safe_next(request))
    return render(
        request,
        "core/account/two_factor_verify.html",
        {"form": form, "next": _safe_next(request, "")},
    )


@require_POST
@login_required
def recovery_codes_regenerate(request):
    try:
        codes = accounts.recovery_codes_generate(user=request.user, ip_address=client_ip(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("account_security")
    return render(request, "core/account/recovery_codes.html", {"codes": codes, "next": ""})


@require_POST
@login_required
def two_factor_disable(request):
    try:
        accounts.two_factor_disable(user=request.user, ip_address=client_ip(request))
    except PermissionDenied as error:
        messages.error(request, str(error))
    else:
        request.session[SECOND_FACTOR_KEY] = ""
        messages.success(request, _("La double authentification est désactivée."))
    return redirect("account_security")


# --- Security page, password, sessions ------------------------------------------------


def _security_page(request, password_form, status=200):
    user = request.user
    return render(
        request,
        "core/account/security.html",
        {
            "totp": accounts.confirmed_totp(user),
            "required": accounts.two_factor_required(user),
            "codes_left": accounts.recovery_codes_left(user),
            "password_form": password_form,
        },
        status=status,
    )


@never_cache
@login_required
def account_security(request):
    """What protects this account, and what the person can do about it."""
    return _security_page(request, SetPasswordForm(request.user))


@require_POST
@sensitive_post_parameters("new_password1", "new_password2")
@login_required
def password_change(request):
    form = SetPasswordForm(request.user, request.POST)
    if form.is_valid():
        accounts.password_set(
            user=request.user,
            password=form.cleaned_data["new_password1"],
            note="mot de passe changé",
            ip_address=client_ip(request),
        )
        # The other sessions end (their hash no longer matches); this one stays.
        update_session_auth_hash(request, request.user)
        messages.success(
            request, _("Votre mot de passe est changé. Vos autres sessions sont fermées.")
        )
        return redirect("account_security")
    return _security_page(request, form, status=400)


@require_POST
@login_required
def sessions_end(request):
    """Log out everywhere else: every other session of this account ends now."""
    user = accounts.sessions_end_all(user=request.user, ip_address=client_ip(request))
    update_session_auth_hash(request, user)
    messages.success(request, _("Toutes vos autres sessions sont fermées."))
    return redirect("account_security")


# --- Invitation and forgotten password ----------------------------------------------------


def _user_from_link(uidb64: str, token: str) -> User | None:
    try:
        pk = int(force_str(urlsafe_base64_decode(uidb64)))
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError):
        return None
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None or not default_token_generator.check_token(user, token):
        return None
    return user


@never_cache
@sensitive_post_parameters("new_password1", "new_password2")
def invitation_accept(request, uidb64: str, token: str):
    """Choose a password from an invitation or password link (expiring, single use)."""
    user = _user_from_link(uidb64, token)
    if user is None:
        return render(request, "core/account/invitation_invalid.html", status=404)
    form = SetPasswordForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        accounts.password_set(
            user=user,
            password=form.cleaned_data["new_password1"],
            note="mot de passe choisi depuis un lien",
            ip_address=client_ip(request),
        )
        accounts.sessions_end_all(user=user, ip_address=client_ip(request))
        messages.success(request, _("Votre mot de passe est enregistré. Connectez-vous."))
        return redirect("login")
    return render(request, "core/account/invitation.html", {"form": form, "invited": user})


class PasswordResetForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Adresse e-mail"), max_length=254)


@never_cache
def password_reset(request):
    """Ask for a password link. The answer is the same whether the address exists."""
    form = PasswordResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        accounts.password_reset_send(email=form.cleaned_data["email"])
        return render(request, "core/account/password_reset_sent.html")
    return render(
        request,
        "core/account/password_reset.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


# --- Team of a structure (coordination) --------------------------------------------------


class InviteForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Adresse e-mail"), max_length=254)
    full_name = forms.CharField(
        label=gettext_lazy("Nom complet"), max_length=150, validators=[reject_markup]
    )
    role = forms.ChoiceField(
        label=gettext_lazy("Rôle"),
        choices=[(r.value, r.label) for r in accounts.COORDINATOR_INVITABLE_ROLES],
    )


def _team_context(request, form):
    structure = request.membership.structure
    members = (
        Membership.objects.filter(structure=structure)
        .select_related("user")
        .order_by("-is_active", "user__full_name", "user__email")
    )
    return {"structure": structure, "members": members, "form": form}


@role_required(Role.COORDINATOR)
def team(request):
    """The structure's people and their roles; invite someone, resend, remove."""
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            accounts.user_invite(
                actor=request.membership,
                email=form.cleaned_data["email"],
                full_name=form.cleaned_data["full_name"],
                role=form.cleaned_data["role"],
                structure=request.membership.structure,
                ip_address=client_ip(request),
            )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(
                request,
                _("Invitation envoyée à %(email)s.") % {"email": form.cleaned_data["email"]},
            )
            return redirect("team")
    status = 400 if form.errors else 200
    return render(request, "core/account/team.html", _team_context(request, form), status=status)


def _team_member(request, pk) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("user", "structure"),
        pk=pk,
        structure_id=request.membership.structure_id,
    )


@require_POST
@role_required(Role.COORDINATOR)
def team_resend(request, pk):
    membership = _team_member(request, pk)
    try:
        accounts.invitation_resend(
            actor=request.membership, membership=membership, ip_address=client_ip(request)
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("Nouveau lien envoyé à %(email)s.") % {"email": membership.user.email}
        )
    return redirect("team")


@require_POST
@role_required(Role.COORDINATOR)
def team_remove(request, pk):
    membership = _team_member(request, pk)
    try:
        accounts.membership_deactivate(
            actor=request.membership, membership=membership, ip_address=client_ip(request)
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("Le rattachement de %(who)s est retiré.") % {"who": membership.user}
        )
    return redirect("team")
