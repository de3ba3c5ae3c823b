import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lien.core.models import Role
from lien.core.permissions import role_required
from lien.core.tabular import export_format, export_list, querystring_for_export
from lien.core.validators import is_uuid
from lien.logbook import queries, services
from lien.logbook.exports import INTERVENTION_COLUMNS, SHIFT_COLUMNS
from lien.logbook.filters import TeamLogFilterForm
from lien.logbook.forms import EntryLookups, InterventionForm, last_entry_defaults
from lien.logbook.models import Intervention, Shift
from lien.logbook.shift_forms import ShiftForm

MAX_SYNC_BATCH = 1000


def _entry_context(request, form, intervention=None):
    membership = request.membership
    return {
        "form": form,
        "intervention": intervention,
        "shifts": queries.todays_shifts(membership),
        "activity_fields": {a.code: a.entry_fields for a in form.fields["activity_type"].queryset},
    }


def _form_errors_into(form, exc: ValidationError) -> None:
    for field, messages in exc.message_dict.items():
        for message in messages:
            form.add_error(field if field in form.fields else None, message)


@role_required(Role.MEDIATOR, Role.COORDINATOR)
def log_intervention(request):
    """Quick entry: prefilled from today's shift or the last entry."""
    membership = request.membership
    if request.method == "POST":
        form = InterventionForm(request.POST, structure=membership.structure, author=request.user)
        if form.is_valid():
            try:
                services.intervention_create(actor=membership, data=form.intervention_data())
            except ValidationError as exc:
                _form_errors_into(form, exc)
            else:
                return redirect(f"{request.path}?enregistre=1")
    else:
        initial = last_entry_defaults(structure=membership.structure, author=request.user)
        shift_id = request.GET.get("tournee")
        shift = None
        if shift_id:
            shift = (
                Shift.objects.visible_to(membership).filter(pk=shift_id).first()
                if is_uuid(shift_id)
                else None
            )
        if shift is not None:
            initial.update(
                service=shift.service_id,
                shift=shift.pk,
                commune=shift.commune.code,
                qpv=shift.qpv.code if shift.qpv_id else "",
                place_type=shift.place_type.code if shift.place_type_id else "",
                mediators=[u.pk for u in shift.mediators.all() if u.pk != request.user.pk],
            )
        services_qs = membership.structure.services.filter(is_active=True)
        if "service" not in initial and services_qs.count() == 1:
            only = services_qs.first()
            initial["service"] = only.pk
            first_domain = only.domains.first()
            if first_domain:
                initial["domain"] = first_domain.code
        form = InterventionForm(
            initial=initial, structure=membership.structure, author=request.user
        )
    context = _entry_context(request, form)
    context["saved"] = request.GET.get("enregistre") == "1"
    return render(request, "logbook/entry.html", context)


@role_required(Role.MEDIATOR, Role.COORDINATOR)
def my_entries(request):
    entries = queries.my_recent(request.membership)
    if fmt := export_format(request):
        return export_list(
            request,
            queryset=entries,
            columns=INTERVENTION_COLUMNS,
            name="mes-interventions",
            what="mes interventions",
            fmt=fmt,
            sheet="Interventions",
        )
    page = Paginator(entries, 30).get_page(request.GET.get("page"))
    for entry in page.object_list:
        entry.correctable = services.can_correct(request.membership, entry)
    return render(
        request,
        "logbook/my_entries.html",
        {"page": page, "export_query": querystring_for_export(request)},
    )


@role_required(Role.MEDIATOR, Role.COORDINATOR)
def intervention_detail(request, pk):
    intervention = get_object_or_404(
        queries.with_row_data(Intervention.objects.visible_to(request.membership)), pk=pk
    )
    return render(
        request,
        "logbook/intervention_detail.html",
        {
            "intervention": intervention,
            "correctable": services.can_correct(request.membership, intervention),
        },
    )


@role_required(Role.MEDIATOR, Role.COORDINATOR)
def intervention_edit(request, pk):
    intervention = get_object_or_404(
        Intervention.objects.visible_to(request.membership).select_related("structure"), pk=pk
    )
    if not services.can_correct(request.membership, intervention):
        raise PermissionDenied(_("Le délai de correction de cette intervention est dépassé."))
    membership = request.membership
    if request.method == "POST":
        form = InterventionForm(
            request.POST, structure=membership.structure, author=intervention.author
        )
        if form.is_valid():
            try:
                services.intervention_update(
                    actor=membership,
                    intervention=intervention,
                    data=form.intervention_data(),
                    base_version=_int(request.POST.get("version")),
                )
            except services.ConflictError:
                form.add_error(
                    None,
                    _(
                        "Cette intervention a été modifiée par quelqu'un d'autre pendant que "
                        "vous la corrigiez. Rechargez la page pour voir la version actuelle."
                    ),
                )
            except ValidationError as exc:
                _form_errors_into(form, exc)
            else:
                return redirect("logbook:intervention_detail", pk=intervention.pk)
    else:
        payload = services.intervention_payload(intervention)
        initial = {k: v for k, v in payload.items() if k not in {"access_requests", "started_at"}}
        initial["started_at"] = intervention.started_at
        for item in payload["access_requests"]:
            initial[f"request_{item['theme']}"] = item["count"]
        form = InterventionForm(
            initial=initial, structure=membership.structure, author=intervention.author
        )
    return render(request, "logbook/entry.html", _entry_context(request, form, intervention))


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@role_required(Role.COORDINATOR)
def team_log(request):
    membership = request.membership
    filters = TeamLogFilterForm(request.GET or None, structure=membership.structure)
    cleaned = filters.cleaned_data if filters.is_valid() else {}
    entries = queries.team_log(membership, cleaned)
    if fmt := export_format(request):
        return export_list(
            request,
            queryset=entries,
            columns=INTERVENTION_COLUMNS,
            name="journal",
            what="journal de l'équipe",
            fmt=fmt,
            sheet="Interventions",
        )
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "logbook/team_log.html",
        {
            "filters": filters,
            "page": page,
            "totals": queries.summary(entries),
            "querystring": querystring_for_export(request),
        },
    )


@require_POST
@role_required(Role.MEDIATOR, Role.COORDINATOR)
def sync(request):
    """The offline outbox's endpoint: a batch of entries, answered entry by entry.

    Body: {"entries": [{"id": uuid, "base_version": int|null, "data": {...}}, ...]}.
    Idempotent: an entry already received answers "already_synced"; a batch cut off
    halfway can be sent again whole. Each entry commits on its own.
    """
    try:
        body = json.loads(request.body or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return JsonResponse({"error": f"JSON illisible : {exc}"}, status=400)
    except RecursionError:
        # Thousands of nested brackets exhaust the parser's stack before any rule applies.
        return JsonResponse({"error": "JSON illisible : imbrication trop profonde."}, status=400)
    entries = body.get("entries") if isinstance(body, dict) else None
    if not isinstance(entries, list):
        return JsonResponse({"error": "Champ « entries » (liste) attendu."}, status=400)
    if len(entries) > MAX_SYNC_BATCH:
        return JsonResponse(
            {"error": f"Au plus {MAX_SYNC_BATCH} entrées par envoi ({len(entries)} reçues)."},
            status=413,
        )
    membership = request.membership
    lookups = EntryLookups(membership.structure, request.user)

    def build_form(payload):
        return InterventionForm.from_payload(
            payload, structure=membership.structure, author=request.user, lookups=lookups
        )

    results = services.intervention_sync(actor=membership, entries=entries, build_form=build_form)
    return JsonResponse({"results": [result.as_dict() for result in results]})


@role_required(Role.MEDIATOR, Role.COORDINATOR)
def outbox(request):
    return render(request, "logbook/outbox.html")


# --- shifts -----------------------------------------------------------------------------


@role_required(Role.MEDIATOR, Role.COORDINATOR)
def shift_list(request):
    membership = request.membership
    upcoming = (
        Shift.objects.visible_to(membership)
        .filter(ends_at__gte=timezone.now())
        .select_related("service", "commune", "qpv")
        .prefetch_related("mediators")
        .order_by("starts_at")
    )
    if membership.role == Role.MEDIATOR:
        upcoming = upcoming.filter(mediators=request.user)
    if fmt := export_format(request):
        return export_list(
            request,
            queryset=upcoming,
            columns=SHIFT_COLUMNS,
            name="tournees",
            what="tournées et permanences à venir",
            fmt=fmt,
            sheet="Tournées",
        )
    page = Paginator(upcoming, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "logbook/shift_list.html",
        {
            "page": page,
            "today": queries.todays_shifts(membership),
            "can_plan": membership.role == Role.COORDINATOR,
            "export_query": querystring_for_export(request),
        },
    )


@role_required(Role.COORDINATOR)
def shift_create(request):
    membership = request.membership
    form = ShiftForm(request.POST or None, structure=membership.structure)
    if request.method == "POST" and form.is_valid():
        try:
            services.shift_create(actor=membership, data=form.shift_data())
        except ValidationError as exc:
            _form_errors_into(form, exc)
        else:
            return redirect("logbook:shift_list")
    return render(request, "logbook/shift_form.html", {"form": form})


@role_required(Role.COORDINATOR)
def shift_edit(request, pk):
    membership = request.membership
    shift = get_object_or_404(Shift.objects.visible_to(membership), pk=pk)
    form = ShiftForm(request.POST or None, structure=membership.structure, instance=shift)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                services.shift_update(actor=membership, shift=shift, data=form.shift_data())
        except ValidationError as exc:
            _form_errors_into(form, exc)
        else:
            return redirect("logbook:shift_list")
    return render(request, "logbook/shift_form.html", {"form": form, "shift": shift})
