from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from lien.core.models import Role
from lien.core.permissions import can_manage_structure, membership_required, role_required
from lien.core.tabular import export_format, export_list, querystring_for_export
from lien.structures import exports, services
from lien.structures.forms import ServiceForm, StructureForm
from lien.structures.models import Organisation, Service, Structure


def _visible_structure(request, pk) -> Structure:
    return get_object_or_404(
        Structure.objects.visible_to(request.membership).select_related("employer_type", "commune"),
        pk=pk,
    )


def _apply(form, call):
    """Run a service call for a valid form; model errors go back onto the form."""
    try:
        return call(form.cleaned_data)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            target = field if field in form.fields else None
            for message in messages:
                form.add_error(target, message)
        return None


@role_required(Role.MEDIATOR, Role.COORDINATOR)
def my_structure(request):
    return redirect("structures:structure_detail", pk=request.membership.structure_id)


@membership_required
def structure_list(request):
    structures = (
        Structure.objects.visible_to(request.membership)
        .select_related("employer_type", "commune")
        .annotate(active_services=Count("services", filter=Q(services__is_active=True)))
        .order_by("name")
    )
    if fmt := export_format(request):
        return export_list(
            request,
            queryset=structures,
            columns=exports.STRUCTURE_COLUMNS,
            name="structures",
            what="structures",
            fmt=fmt,
            sheet="Structures",
        )
    page = Paginator(structures, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "structures/structure_list.html",
        {"page": page, "export_query": querystring_for_export(request)},
    )


@require_safe
@membership_required
def structure_detail(request, pk):
    structure = _visible_structure(request, pk)
    service_list = (
        Service.objects.visible_to(request.membership)
        .filter(structure=structure)
        .select_related("stage")
        .prefetch_related("domains")
    )
    return render(
        request,
        "structures/structure_detail.html",
        {
            "structure": structure,
            "services": service_list,
            "can_manage": can_manage_structure(request.membership, structure),
        },
    )


@membership_required
def structure_edit(request, pk):
    structure = _visible_structure(request, pk)
    if not can_manage_structure(request.membership, structure):
        raise PermissionDenied(_("Seule la coordination de cette structure peut la modifier."))
    form = StructureForm(request.POST or None, instance=Structure.objects.get(pk=structure.pk))
    if request.method == "POST" and form.is_valid():
        done = _apply(
            form,
            lambda data: services.structure_update(
                actor=request.membership, structure=structure, data=data
            ),
        )
        if done:
            return redirect("structures:structure_detail", pk=structure.pk)
    return render(request, "structures/structure_form.html", {"form": form, "structure": structure})


@require_safe
@membership_required
def service_detail(request, pk):
    service = get_object_or_404(
        Service.objects.visible_to(request.membership)
        .select_related("structure", "stage")
        .prefetch_related("domains", "territories", "commissioning_bodies"),
        pk=pk,
    )
    return render(
        request,
        "structures/service_detail.html",
        {
            "service": service,
            "can_manage": can_manage_structure(request.membership, service.structure),
        },
    )


@membership_required
def service_create(request, structure_pk):
    structure = _visible_structure(request, structure_pk)
    if not can_manage_structure(request.membership, structure):
        raise PermissionDenied(_("Seule la coordination de cette structure peut la modifier."))
    form = ServiceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        service = _apply(
            form,
            lambda data: services.service_create(
                actor=request.membership, structure=structure, data=data
            ),
        )
        if service:
            return redirect("structures:service_detail", pk=service.pk)
    return render(request, "structures/service_form.html", {"form": form, "structure": structure})


@membership_required
def service_edit(request, pk):
    service = get_object_or_404(
        Service.objects.visible_to(request.membership).select_related("structure"), pk=pk
    )
    if not can_manage_structure(request.membership, service.structure):
        raise PermissionDenied(_("Seule la coordination de cette structure peut la modifier."))
    form = ServiceForm(request.POST or None, instance=Service.objects.get(pk=service.pk))
    if request.method == "POST" and form.is_valid():
        done = _apply(
            form,
            lambda data: services.service_update(
                actor=request.membership, service=service, data=data
            ),
        )
        if done:
            return redirect("structures:service_detail", pk=service.pk)
    return render(
        request,
        "structures/service_form.html",
        {"form": form, "structure": service.structure, "service": service},
    )


@membership_required
def organisation_list(request):
    organisations = (
        Organisation.objects.visible_to(request.membership)
        .filter(is_active=True)
        .select_related("partner_type", "funding_program", "territory")
    )
    # A null byte cannot reach PostgreSQL (it refuses it in a query): dropped.
    query = request.GET.get("q", "").replace("\x00", "").strip()[:100]
    if query:
        organisations = organisations.filter(name__icontains=query)
    kind = request.GET.get("nature", "")
    if kind == "financeurs":
        organisations = organisations.funders()
    elif kind == "partenaires":
        organisations = organisations.partners()
    organisations = organisations.order_by("name")
    if fmt := export_format(request):
        return export_list(
            request,
            queryset=organisations,
            columns=exports.ORGANISATION_COLUMNS,
            name="organisations",
            what="organisations",
            fmt=fmt,
            sheet="Organisations",
        )
    page = Paginator(organisations, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "structures/organisation_list.html",
        {
            "page": page,
            "query": query,
            "kind": kind,
            "export_query": querystring_for_export(request),
        },
    )
