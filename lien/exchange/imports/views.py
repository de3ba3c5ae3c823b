"""Import pages (/donnees/imports/…): upload, mapping, dry run, commit, report.

Coordinators import into their own structure, administrators import structures; every
other role is refused (403). A job of another structure is a 404.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from lien.core.models import Role
from lien.core.permissions import role_required
from lien.core.tabular import (
    export_format,
    export_list,
    querystring_for_export,
    tabular_response,
)
from lien.exchange.imports import exports, services
from lien.exchange.imports.forms import ImportMappingForm, ImportUploadForm
from lien.exchange.imports.kinds import IMPORTERS
from lien.exchange.models import ImportJob, ImportState

IMPORTERS_ROLES = (Role.COORDINATOR, Role.ADMIN)


def _errors_into(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            for message in errors:
                form.add_error(name if name in form.fields else None, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)


def _job(request, pk) -> ImportJob:
    return get_object_or_404(
        ImportJob.objects.visible_to(request.membership).select_related("structure", "owner"),
        pk=pk,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@role_required(*IMPORTERS_ROLES)
def import_list(request):
    """My structure's imports, and the form that starts one."""
    kinds = services.kinds_for(request.membership)
    form = ImportUploadForm(request.POST or None, request.FILES or None, kinds=kinds)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.import_job_create(
                actor=request.membership,
                kind=form.cleaned_data["kind"],
                upload=form.cleaned_data["file"],
            )
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            return redirect("imports:import_detail", pk=job.pk)
    jobs = (
        ImportJob.objects.visible_to(request.membership)
        .select_related("owner")
        .order_by("-created_at", "pk")
    )
    if request.method == "GET" and (fmt := export_format(request)):
        return export_list(
            request,
            queryset=jobs,
            columns=exports.IMPORT_COLUMNS,
            name="imports",
            what="imports",
            fmt=fmt,
            sheet="Imports",
        )
    columns = {kind: IMPORTERS[kind].columns for kind, _label in kinds}
    return render(
        request,
        "exchange/import_list.html",
        {
            "form": form,
            "page": Paginator(jobs, 50).get_page(request.GET.get("page")),
            "kinds": kinds,
            "columns": columns,
            "export_query": querystring_for_export(request),
        },
        status=400 if form.errors else 200,
    )


@never_cache
@require_safe
@role_required(*IMPORTERS_ROLES)
def import_detail(request, pk):
    """The job's page: mapping, then the dry run's result, then the commit's; while a step
    runs, htmx polls this view for the progress fragment."""
    job = _job(request, pk)
    context = {"job": job, "importer": IMPORTERS[job.kind]}
    if request.htmx:
        return render(request, "exchange/partials/import_status.html", context)
    if job.state not in (ImportState.COMMITTING, ImportState.DONE):
        context["form"] = ImportMappingForm(job=job)
    return render(request, "exchange/import_detail.html", context)


@require_POST
@role_required(*IMPORTERS_ROLES)
def import_map(request, pk):
    """Save the column mapping and start the dry run."""
    job = _job(request, pk)
    form = ImportMappingForm(request.POST, job=job)
    if form.is_valid():
        try:
            services.import_job_map(actor=request.membership, job=job, mapping=form.mapping())
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            return redirect("imports:import_detail", pk=job.pk)
    context = {"job": job, "importer": IMPORTERS[job.kind], "form": form}
    return render(request, "exchange/import_detail.html", context, status=400)


@require_POST
@role_required(*IMPORTERS_ROLES)
def import_commit(request, pk):
    """Start the all-or-nothing commit of a checked file."""
    job = _job(request, pk)
    try:
        services.import_job_commit(
            actor=request.membership,
            job=job,
            texts_confirmed=request.POST.get("texts_confirmed") == "on",
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("imports:import_detail", pk=job.pk)


@require_safe
@role_required(*IMPORTERS_ROLES)
def import_report(request, pk):
    """Every rejected cell (line, column, value, reason), as a CSV file."""
    job = _job(request, pk)
    if not job.report:
        raise Http404(_("Cet import n'a pas de ligne refusée."))
    response = FileResponse(
        job.report.open("rb"),
        as_attachment=True,
        filename=f"rejets-import-{str(job.pk)[:8]}.csv",
        content_type="text/csv; charset=utf-8",
    )
    response["Cache-Control"] = "private, no-store"
    return response


@require_safe
@role_required(*IMPORTERS_ROLES)
def import_template(request):
    """An empty file to fill for one kind of import (`?type=`, the first one the user may
    import by default): its header line names every column the import knows, in the words
    the mapping step recognises (CSV for Excel)."""
    kinds = dict(services.kinds_for(request.membership))
    kind = request.GET.get("type") or next(iter(kinds), "")
    if kind not in kinds:
        raise Http404(_("Type d'import inconnu."))
    columns = IMPORTERS[kind].columns
    return tabular_response(
        name=f"modele-import-{kind}",
        headers=[column.label for column in columns],
        rows=[],
        fmt="csv",
    )
