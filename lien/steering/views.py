"""Pages of regional steering (/pilotage/…) and of generated reports (/rapports/…).

Agreements, experiments and meetings are read and written by the steering members of the
territory and by administrators; everyone else gets 403, and an object outside one's
territory is a 404. Reports: steering asks for biannual reports, a structure's coordination
for the activity reports of its services.
"""

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from lien.core import suppression
from lien.core.forms import apply_service, form_page
from lien.core.models import Role
from lien.core.permissions import role_required
from lien.core.tabular import (
    export_format,
    export_list,
    journal_export,
    querystring_for_export,
    stamped,
    tables_response,
)
from lien.steering import exports, forms, services
from lien.steering.models import (
    AgreementTarget,
    Decision,
    Experiment,
    FrameworkAgreement,
    Report,
    ReportState,
    SteeringMeeting,
)
from lien.steering.queries import observatory, target_progress

STEERING = (Role.STEERING, Role.ADMIN)
REPORTERS = (Role.STEERING, Role.ADMIN, Role.COORDINATOR)


def _require_steer(request, territory) -> None:
    if not services.can_steer(request.membership, territory):
        raise PermissionDenied(_(services.STEERING_REFUSED))


def _framework_url(pk, anchor: str) -> str:
    return reverse("steering:framework_detail", kwargs={"pk": pk}) + "#" + anchor


def _agreement(request, pk) -> FrameworkAgreement:
    return get_object_or_404(
        FrameworkAgreement.objects.visible_to(request.membership).select_related("territory"),
        pk=pk,
    )


# --- agreements and the job observatory ------------------------------------------------------


@require_safe
@role_required(*STEERING)
def agreement_list(request):
    agreements = (
        FrameworkAgreement.objects.visible_to(request.membership)
        .select_related("territory")
        .order_by("-starts_on")
    )
    if fmt := export_format(request):
        return export_list(
            request,
            queryset=agreements,
            columns=exports.AGREEMENT_COLUMNS,
            name="conventions-cadres",
            what="conventions-cadres",
            fmt=fmt,
            sheet="Conventions",
        )
    return render(
        request,
        "steering/agreement_list.html",
        {"agreements": agreements, "export_query": querystring_for_export(request)},
    )


@require_http_methods(["GET", "POST"])
@role_required(*STEERING)
def agreement_create(request):
    form = forms.AgreementForm(request.POST or None, membership=request.membership)
    if request.method == "POST" and form.is_valid():
        data = {**form.cleaned_data}
        agreement = apply_service(
            form, lambda: services.agreement_create(actor=request.membership, data=data)
        )
        if agreement:
            return redirect("steering:framework_detail", pk=agreement.pk)
    return form_page(
        request,
        form,
        title=_("Nouvelle convention-cadre"),
        cancel_url=reverse("steering:framework_list"),
    )


@require_http_methods(["GET", "POST"])
@role_required(*STEERING)
def agreement_edit(request, pk):
    agreement = _agreement(request, pk)
    _require_steer(request, agreement.territory)
    form = forms.AgreementForm(
        request.POST or None, instance=agreement, membership=request.membership
    )
    if request.method == "POST" and form.is_valid():
        data = {**form.cleaned_data}
        agreement = FrameworkAgreement.objects.get(pk=agreement.pk)  # unchanged copy
        if apply_service(
            form,
            lambda: services.agreement_update(
                actor=request.membership, agreement=agreement, data=data
            ),
        ):
            return redirect("steering:framework_detail", pk=agreement.pk)
    return form_page(
        request,
        form,
        title=_("Modifier la convention-cadre"),
        cancel_url=reverse("steering:framework_detail", kwargs={"pk": pk}),
    )


@require_safe
@role_required(*STEERING)
def agreement_detail(request, pk):
    """The agreement, its job observatory, targets, experiments and meetings."""
    agreement = _agreement(request, pk)
    protected = request.membership.role != Role.ADMIN
    figures = observatory(agreement, protected=protected)
    targets = target_progress(agreement, protected=protected)
    if fmt := export_format(request):
        journal_export(actor=request.membership, what="observatoire des emplois", fmt=fmt)
        return tables_response(
            name=stamped("observatoire-emplois"),
            tables=[*exports.observatory_tables(figures), exports.targets_table(targets)],
            fmt=fmt,
            heading=[agreement.title, suppression.legend() if protected else ""],
            stream=False,
        )
    context = {
        "agreement": agreement,
        "observatory": figures,
        "targets": targets,
        "experiments": agreement.experiments.select_related("territory", "stage"),
        "meetings": agreement.meetings.prefetch_related("decisions"),
        "signatories": agreement.signatories.all(),
        "can_edit": services.can_steer(request.membership, agreement.territory),
        "target_form": forms.TargetForm(),
        "legend": suppression.legend(),
    }
    return render(request, "steering/agreement_detail.html", context)


@require_http_methods(["POST"])
@role_required(*STEERING)
def target_set(request, framework_pk):
    agreement = _agreement(request, framework_pk)
    _require_steer(request, agreement.territory)
    form = forms.TargetForm(request.POST)
    if form.is_valid() and apply_service(
        form,
        lambda: services.agreement_target_set(
            actor=request.membership, agreement=agreement, **form.cleaned_data
        ),
    ):
        return redirect(
            reverse("steering:framework_detail", kwargs={"pk": framework_pk}) + "#cibles"
        )
    return form_page(
        request,
        form,
        title=_("Cible d'indicateur"),
        cancel_url=reverse("steering:framework_detail", kwargs={"pk": framework_pk}),
    )


@require_http_methods(["POST"])
@role_required(*STEERING)
def target_delete(request, pk):
    target = get_object_or_404(
        AgreementTarget.objects.filter(
            agreement__in=FrameworkAgreement.objects.visible_to(request.membership)
        ).select_related("agreement__territory"),
        pk=pk,
    )
    _require_steer(request, target.agreement.territory)
    services.agreement_target_delete(actor=request.membership, target=target)
    return redirect(
        reverse("steering:framework_detail", kwargs={"pk": target.agreement_id}) + "#cibles"
    )


# --- experiments ---------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@role_required(*STEERING)
def experiment_create(request, framework_pk):
    agreement = _agreement(request, framework_pk)
    _require_steer(request, agreement.territory)
    form = forms.ExperimentForm(
        request.POST or None, membership=request.membership, agreement=agreement
    )
    if request.method == "POST" and form.is_valid():
        data = {**form.cleaned_data}
        if apply_service(
            form,
            lambda: services.experiment_create(
                actor=request.membership, agreement=agreement, data=data
            ),
        ):
            return redirect(
                reverse("steering:framework_detail", kwargs={"pk": framework_pk})
                + "#experimentations"
            )
    return form_page(
        request,
        form,
        title=_("Nouvelle expérimentation"),
        cancel_url=reverse("steering:framework_detail", kwargs={"pk": framework_pk}),
    )


@require_http_methods(["GET", "POST"])
@role_required(*STEERING)
def experiment_edit(request, pk):
    experiment = get_object_or_404(
        Experiment.objects.visible_to(request.membership).select_related("agreement__territory"),
        pk=pk,
    )
    _require_steer(request, experiment.agreement.territory)
    form = forms.ExperimentForm(
        request.POST or None,
        instance=experiment,
        membership=request.membership,
        agreement=experiment.agreement,
    )
    back = reverse("steering:framework_detail", kwargs={"pk": experiment.agreement_id})
    if request.method == "POST" and form.is_valid():
        data = {**form.cleaned_data}
        experiment = Experiment.objects.get(pk=experiment.pk)
        if apply_service(
            form,
            lambda: services.experiment_update(
                actor=request.membership, experiment=experiment, data=data
            ),
        ):
            return redirect(back + "#experimentations")
    return form_page(request, form, title=_("Modifier l'expérimentation"), cancel_url=back)


# --- meetings and decisions ------------------------------------------------------------------


def _meeting(request, pk) -> SteeringMeeting:
    return get_object_or_404(
        SteeringMeeting.objects.visible_to(request.membership).select_related(
            "agreement__territory"
        ),
        pk=pk,
    )


@require_http_methods(["GET", "POST"])
@role_required(*STEERING)
def meeting_create(request, framework_pk):
    agreement = _agreement(request, framework_pk)
    _require_steer(request, agreement.territory)
    form = forms.MeetingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = {**form.cleaned_data}
        meeting = apply_service(
            form,
            lambda: services.meeting_create(
                actor=request.membership, agreement=agreement, data=data
            ),
        )
        if meeting:
            return redirect("steering:meeting_detail", pk=meeting.pk)
    return form_page(
        request,
        form,
        title=_("Nouvelle réunion"),
        cancel_url=reverse("steering:framework_detail", kwargs={"pk": framework_pk}),
    )


@require_safe
@role_required(*STEERING)
def meeting_detail(request, pk):
    """The meeting, its decisions, and the follow-up of the previous meeting's decisions."""
    meeting = _meeting(request, pk)
    previous = meeting.previous()
    context = {
        "meeting": meeting,
        "decisions": meeting.decisions.all(),
        "previous": previous,
        "previous_decisions": previous.decisions.all() if previous else [],
        "participants": meeting.participants.all(),
        "can_edit": services.can_steer(request.membership, meeting.agreement.territory),
        "decision_form": forms.DecisionForm(),
    }
    return render(request, "steering/meeting_detail.html", context)


@require_http_methods(["GET", "POST"])
@role_required(*STEERING)
def meeting_edit(request, pk):
    meeting = _meeting(request, pk)
    _require_steer(request, meeting.agreement.territory)
    form = forms.MeetingForm(request.POST or None, instance=meeting)
    back = reverse("steering:meeting_detail", kwargs={"pk": pk})
    if request.method == "POST" and form.is_valid():
        data = {**form.cleaned_data}
        meeting = SteeringMeeting.objects.get(pk=meeting.pk)
        if apply_service(
            form,
            lambda: services.meeting_update(actor=request.membership, meeting=meeting, data=data),
        ):
            return redirect(back)
    return form_page(request, form, title=_("Modifier la réunion"), cancel_url=back)


@require_http_methods(["GET", "POST"])
@role_required(*STEERING)
def decision_create(request, meeting_pk):
    meeting = _meeting(request, meeting_pk)
    _require_steer(request, meeting.agreement.territory)
    form = forms.DecisionForm(request.POST or None)
    back = reverse("steering:meeting_detail", kwargs={"pk": meeting_pk})
    if request.method == "POST" and form.is_valid():
        data = {**form.cleaned_data}
        if apply_service(
            form,
            lambda: services.decision_create(actor=request.membership, meeting=meeting, data=data),
        ):
            return redirect(back + "#decisions")
    return form_page(request, form, title=_("Nouvelle décision"), cancel_url=back)


@require_http_methods(["GET", "POST"])
@role_required(*STEERING)
def decision_edit(request, pk):
    decision = get_object_or_404(
        Decision.objects.filter(
            meeting__in=SteeringMeeting.objects.visible_to(request.membership)
        ).select_related("meeting__agreement__territory"),
        pk=pk,
    )
    _require_steer(request, decision.meeting.agreement.territory)
    form = forms.DecisionForm(request.POST or None, instance=decision)
    back = reverse("steering:meeting_detail", kwargs={"pk": decision.meeting_id})
    if request.method == "POST" and form.is_valid():
        data = {**form.cleaned_data}
        decision = Decision.objects.get(pk=decision.pk)
        if apply_service(
            form,
            lambda: services.decision_update(
                actor=request.membership, decision=decision, data=data
            ),
        ):
            return redirect(back + "#decisions")
    return form_page(request, form, title=_("Suivi de la décision"), cancel_url=back)


# --- reports ---------------------------------------------------------------------


def _report_form(request, data=None):
    if request.membership.role == Role.COORDINATOR:
        return forms.FunderReportForm(data, membership=request.membership)
    return forms.BiannualReportForm(data, membership=request.membership)


@require_http_methods(["GET", "POST"])
@role_required(*REPORTERS)
def report_list(request):
    """The reports one may read, and the form to ask for a new one."""
    form = _report_form(request, request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        report = apply_service(
            form,
            lambda: services.report_request(
                actor=request.membership,
                kind=data["kind"],
                start=data["start"],
                end=data["end"],
                territory=data.get("territory"),
                agreement=data.get("agreement"),
                service=data.get("service"),
                funder=data.get("funder"),
            ),
        )
        if report:
            return redirect("steering:generated_report_detail", pk=report.pk)
    reports = (
        Report.objects.visible_to(request.membership)
        .select_related("territory", "service", "funder")
        .order_by("-created_at", "pk")
    )
    biannual = request.membership.role != Role.COORDINATOR
    if request.method == "GET" and (fmt := export_format(request)):
        return export_list(
            request,
            queryset=reports,
            columns=exports.REPORT_COLUMNS,
            name="bilans-semestriels" if biannual else "bilans-activite",
            what="bilans préparés",
            fmt=fmt,
            sheet="Bilans",
        )
    return render(
        request,
        "steering/report_list.html",
        {
            "form": form,
            "page": Paginator(reports, 50).get_page(request.GET.get("page")),
            "biannual": biannual,
            "export_query": querystring_for_export(request),
        },
        status=400 if form.errors else 200,
    )


def _report(request, pk) -> Report:
    return get_object_or_404(
        Report.objects.visible_to(request.membership).select_related(
            "territory", "service", "funder", "agreement"
        ),
        pk=pk,
    )


@require_safe
@role_required(*REPORTERS)
def report_detail(request, pk):
    """The report's state; while it runs, htmx polls the progress fragment."""
    report = _report(request, pk)
    template = "steering/report_detail.html"
    if request.htmx:
        template = "steering/partials/report_progress.html"
    return render(request, template, {"report": report})


@require_safe
@role_required(*REPORTERS)
def report_download(request, pk, fmt):
    report = _report(request, pk)
    if report.state != ReportState.DONE or fmt not in ("pdf", "xlsx"):
        raise Http404(_("Ce fichier n'est pas disponible."))
    file = report.pdf if fmt == "pdf" else report.xlsx
    content_type = (
        "application/pdf"
        if fmt == "pdf"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    name = file.name.rsplit("/", 1)[-1]
    return FileResponse(
        file.open("rb"), as_attachment=True, filename=name, content_type=content_type
    )
