"""The shell of the interface: login, home page by role, membership switch, audit journal."""

import datetime
import uuid

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm, UsernameField
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import DatabaseError, connection, transaction
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from lien.core import audit
from lien.core.auth import is_demo_email
from lien.core.middleware import SESSION_KEY
from lien.core.models import AuditAction, AuditEvent, Membership, Role
from lien.core.navigation import home_cards_for, home_intro_for
from lien.core.permissions import role_required
from lien.core.signals import client_ip

AUDIT_PAGE_SIZE = 50


@never_cache
@require_GET
def healthz(request):
    """Liveness and database status, for load balancers and monitoring."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return JsonResponse(
            {"status": "error", "database": "unavailable", "detail": exc.__class__.__name__},
            status=503,
        )
    return JsonResponse({"status": "ok", "database": "ok", "vendor": connection.vendor})


# --- Login and logout ---------------------------------------------------------------------


class LoginForm(AuthenticationForm):
    """E-mail and password; says plainly when a demo account is refused on this instance."""

    username = UsernameField(
        label=gettext_lazy("Adresse e-mail"),
        # Set here, not only by AuthenticationForm.__init__ (which adds no validator): a
        # longer value would overflow django-axes' 255-character column on PostgreSQL.
        max_length=254,
        widget=forms.EmailInput(
            attrs={"autofocus": True, "autocomplete": "username", "spellcheck": "false"}
        ),
    )
    password = forms.CharField(
        label=gettext_lazy("Mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    error_messages = {
        "invalid_login": gettext_lazy(
            "Adresse e-mail ou mot de passe incorrect. Vérifiez votre saisie et réessayez."
        ),
        "inactive": gettext_lazy("Ce compte est désactivé."),
        "demo_disabled": gettext_lazy(
            "Les comptes de démonstration sont désactivés sur cette instance."
        ),
    }

    def clean_username(self) -> str:
        # Lower-cased before authentication, so that django-axes counts failures per
        # address whatever the capitalisation typed.
        return self.cleaned_data["username"].strip().lower()

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        try:
            return super().clean()
        except ValidationError as error:
            # The backend refuses demo accounts without saying why; say it here.
            if is_demo_email(username) and not settings.LIEN_DEMO_LOGINS_ENABLED:
                raise ValidationError(
                    self.error_messages["demo_disabled"], code="demo_disabled"
                ) from error
            raise


class LoginView(auth_views.LoginView):
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["demo_logins_enabled"] = settings.LIEN_DEMO_LOGINS_ENABLED
        return context


class LogoutView(auth_views.LogoutView):
    """POST only (Django's default); tells the person they are signed out."""

    def post(self, request, *args, **kwargs):
        was_signed_in = request.user.is_authenticated
        response = super().post(request, *args, **kwargs)
        if was_signed_in:
            messages.info(request, _("Vous êtes déconnecté·e."))
        return response


# --- Home page -------------------------------------------------------------------------


def home(request):
    """What this user can do in Lien, for the role held in the current membership."""
    if not request.user.is_authenticated:
        return redirect("login")
    membership = request.membership
    if membership is None:
        return render(request, "core/home_unattached.html")
    return render(
        request,
        "core/home.html",
        {
            "membership": membership,
            "intro": home_intro_for(membership),
            "cards": home_cards_for(membership),
        },
    )


# --- Membership switch -----------------------------------------------------------------


def _bad_request(request, message: str):
    return render(request, "400.html", {"message": message}, status=400)


@require_POST
def switch_membership(request):
    """Make another of the user's active memberships the current one."""
    if not request.user.is_authenticated:
        return redirect("login")
    try:
        membership_id = uuid.UUID(request.POST.get("membership", ""))
    except ValueError:
        return _bad_request(request, _("Le rattachement demandé n'est pas valide."))
    membership = (
        Membership.objects.active()
        .filter(user=request.user, pk=membership_id)
        .select_related("structure", "organisation", "territory")
        .first()
    )
    if membership is None:
        return _bad_request(
            request, _("Ce rattachement n'existe pas, n'est plus actif ou n'est pas le vôtre.")
        )
    previous = request.membership
    with transaction.atomic():
        request.session[SESSION_KEY] = str(membership.pk)
        audit.record(
            action=AuditAction.SWITCH,
            actor=membership,
            obj=membership,
            structure_id=membership.structure_id,
            note=_("depuis : %(previous)s") % {"previous": previous} if previous else "",
            ip_address=client_ip(request),
        )
    messages.success(
        request,
        _("Vous agissez maintenant en tant que : %(membership)s.") % {"membership": membership},
    )
    return redirect("home")


# --- Audit journal -----------------------------------------------------------------------


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(
        label=gettext_lazy("Action"),
        required=False,
        choices=[("", gettext_lazy("Toutes les actions")), *AuditAction.choices],
    )
    start = forms.DateField(
        label=gettext_lazy("Du"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    end = forms.DateField(
        label=gettext_lazy("Au"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", _("La date de fin doit être postérieure à la date de début."))
        return data

    def filter(self, events):
        """Apply the filters that are valid (an invalid one is reported, not applied)."""
        data = getattr(self, "cleaned_data", {})
        if data.get("action"):
            events = events.filter(action=data["action"])
        zone = timezone.get_current_timezone()
        if data.get("start"):
            start = datetime.datetime.combine(data["start"], datetime.time.min, tzinfo=zone)
            events = events.filter(at__gte=start)
        if data.get("end") and "end" not in self.errors:
            after = datetime.datetime.combine(
                data["end"] + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone
            )
            events = events.filter(at__lt=after)
        return events


@role_required(Role.COORDINATOR, Role.ADMIN)
def audit_log(request):
    """The journal: a coordinator sees their structure's events, an administrator all."""
    form = AuditFilterForm(request.GET)
    form.is_valid()
    events = form.filter(AuditEvent.objects.visible_to(request.membership))
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    role_labels = dict(Role.choices)
    for event in page.object_list:
        event.role_label = role_labels.get(event.actor_role, event.actor_role)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "core/audit_log.html",
        {
            "form": form,
            "page": page,
            "querystring": query.urlencode(),
            "show_ip": request.membership.role == Role.ADMIN,
        },
    )
