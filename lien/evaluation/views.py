"""Pages of the evaluation of social utility (/evaluations/…) and the public survey
(/enquete/<token>/).

Reads go through `visible_to(membership)`: an object out of reach is a 404. The structure's
coordination writes; its mediators read; the funder of the service and the steering of its
territory read the evaluation's aggregates only (figures protected against small cells, no
survey page, no free-text answer). The public survey needs no account: the link's token is
the permission, and it answers only while the survey is open.
"""

import re

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from lien.core.forms import apply_service, form_page
from lien.core.models import Role
from lien.core.permissions import can_manage_structure, role_required
from lien.core.qr import qr_svg
from lien.core.tabular import export_format, export_list, querystring_for_export
from lien.evaluation import exports, forms, queries, services
from lien.evaluation.models import AvoidedCostEstimate, Evaluation, Survey
from lien.referentiel.models import UtilityRegister
from lien.structures.models import Structure

READERS = (Role.MEDIATOR, Role.COORDINATOR, Role.FUNDER, Role.STEERING, Role.ADMIN)
STRUCTURE = (Role.MEDIATOR, Role.COORDINATOR)
#: What `secrets.token_urlsafe` gives; anything else names no survey (and never reaches SQL).
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,64}")
MANAGE_REFUSED = "Seule la coordination de la structure peut modifier son évaluation."


def _own_structure(request) -> Structure:
    if request.membership.role != Role.COORDINATOR:
        raise PermissionDenied(_(MANAGE_REFUSED))
    return request.membership.structure


def _managed_evaluation(request, pk) -> Evaluation:
    evaluation = get_object_or_404(
        Evaluation.objects.visible_to(request.membership).select_related("service__structure"),
        pk=pk,
    )
    if not can_manage_structure(request.membership, evaluation.service.structure):
        raise PermissionDenied(_(MANAGE_REFUSED))
    return evaluation


# --- evaluations ---------------------------------------------------------------------------


@require_safe
@role_required(*READERS)
def evaluation_list(request):
    membership = request.membership
    evaluations = (
        Evaluation.objects.visible_to(membership)
        .select_related("service__structure")
        .order_by("-starts_on", "service__name", "pk")
    )
    with_surveys = membership.role in (*STRUCTURE, Role.ADMIN)
    surveys = (
        Survey.objects.visible_to(membership)
        .select_related("service")
        .annotate(answer_count=Count("responses"))
        .order_by("-opens_on", "title", "pk")
    )
    if not with_surveys:  # funders and steering see evaluations, never the surveys' list
        surveys = surveys.none()
    if fmt := export_format(request):
        if request.GET.get("tableau") == "enquetes":
            return export_list(
                request,
                queryset=surveys,
                columns=exports.SURVEY_COLUMNS,
                name="enquetes-satisfaction",
                what="enquêtes de satisfaction",
                fmt=fmt,
                sheet="Enquêtes",
            )
        return export_list(
            request,
            queryset=evaluations,
            columns=exports.EVALUATION_COLUMNS,
            name="evaluations-utilite-sociale",
            what="évaluations de l'utilité sociale",
            fmt=fmt,
            sheet="Évaluations",
        )
    return render(
        request,
        "evaluation/evaluation_list.html",
        {
            "page": Paginator(evaluations, 50).get_page(request.GET.get("page")),
            "surveys_page": (
                Paginator(surveys, 50).get_page(request.GET.get("page_enquetes"))
                if with_surveys
                else None
            ),
            "can_create": membership.role == Role.COORDINATOR,
            "today": timezone.localdate(),
            "export_query": querystring_for_export(request),
        },
    )


@role_required(Role.COORDINATOR)
def evaluation_create(request):
    structure = _own_structure(request)
    form = forms.EvaluationCreateForm(request.POST or None, structure=structure)
    if request.method == "POST" and form.is_valid():
        data = {k: form.cleaned_data[k] for k in ("starts_on", "ends_on")}
        evaluation = apply_service(
            form,
            lambda: services.evaluation_create(
                actor=request.membership, service=form.cleaned_data["service"], data=data
            ),
        )
        if evaluation:
            return redirect("evaluation:evaluation_detail", pk=evaluation.pk)
    return form_page(
        request,
        form,
        title=_("Nouvelle évaluation de l'utilité sociale"),
        intro=_(
            "Une évaluation couvre un dispositif sur une période : indicateurs, "
            "auto-évaluation par registre, enquêtes et coûts évités."
        ),
        cancel_url=reverse("evaluation:evaluation_list"),
    )


@require_safe
@role_required(*READERS)
def evaluation_detail(request, pk):
    membership = request.membership
    evaluation = get_object_or_404(
        Evaluation.objects.visible_to(membership).select_related("service__structure"), pk=pk
    )
    inside = membership.role == Role.ADMIN or (
        membership.role in STRUCTURE and membership.structure_id == evaluation.structure_id
    )
    rows = queries.evaluation_summary(evaluation, protected=not inside)
    total = sum(
        (c["amount"] for row in rows for c in row["avoided_costs"] if c["amount"] is not None),
        start=0,
    )
    return render(
        request,
        "evaluation/evaluation_detail.html",
        {
            "evaluation": evaluation,
            "rows": rows,
            "avoided_total": total,
            "protected": not inside,
            "threshold": queries.threshold(),
            "can_manage": can_manage_structure(membership, evaluation.service.structure),
        },
    )


@role_required(Role.COORDINATOR, Role.ADMIN)
def evaluation_edit(request, pk):
    evaluation = _managed_evaluation(request, pk)
    initial = {k: getattr(evaluation, k) for k in ("starts_on", "ends_on", "state")}
    form = forms.EvaluationEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = {k: form.cleaned_data[k] for k in ("starts_on", "ends_on", "state")}
        if apply_service(
            form,
            lambda: services.evaluation_update(
                actor=request.membership, evaluation=evaluation, data=data
            ),
        ):
            return redirect("evaluation:evaluation_detail", pk=evaluation.pk)
    return form_page(
        request,
        form,
        title=_("Modifier l'évaluation « %(name)s »") % {"name": evaluation},
        cancel_url=reverse("evaluation:evaluation_detail", kwargs={"pk": evaluation.pk}),
    )


@role_required(Role.COORDINATOR, Role.ADMIN)
def evaluation_assess(request, pk):
    evaluation = _managed_evaluation(request, pk)
    registers = UtilityRegister.objects.active().order_by("position", "label")
    initial = {}
    for row in evaluation.assessments.select_related("register"):
        initial[f"level_{row.register.code}"] = row.level
        initial[f"evidence_{row.register.code}"] = row.evidence
    form = forms.AssessmentForm(request.POST or None, initial=initial, registers=registers)
    if request.method == "POST" and form.is_valid():
        done = apply_service(
            form,
            lambda: (
                services.evaluation_assess(
                    actor=request.membership, evaluation=evaluation, assessments=form.assessments()
                )
                or True
            ),
        )
        if done:
            return redirect("evaluation:evaluation_detail", pk=evaluation.pk)
    return form_page(
        request,
        form,
        title=_("Auto-évaluation par registre CITER"),
        intro=_(
            "Pour chaque registre, un niveau de 1 (à construire) à 4 (remarquable) et les "
            "éléments qui le justifient, sans nom ni donnée qui identifie une personne."
        ),
        cancel_url=reverse("evaluation:evaluation_detail", kwargs={"pk": evaluation.pk}),
    )


# --- avoided costs -------------------------------------------------------------------------


@role_required(Role.COORDINATOR, Role.ADMIN)
def avoided_cost_create(request, evaluation_pk):
    evaluation = _managed_evaluation(request, evaluation_pk)
    form = forms.AvoidedCostForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        if apply_service(
            form,
            lambda: services.avoided_cost_create(
                actor=request.membership, evaluation=evaluation, data=data
            ),
        ):
            return redirect("evaluation:evaluation_detail", pk=evaluation.pk)
    return form_page(
        request,
        form,
        title=_("Nouvelle estimation de coûts évités"),
        intro=_(
            "Montant = quantité × coût unitaire. Une estimation n'est jamais affichée sans "
            "ses hypothèses."
        ),
        cancel_url=reverse("evaluation:evaluation_detail", kwargs={"pk": evaluation.pk}),
    )


@require_POST
@role_required(Role.COORDINATOR, Role.ADMIN)
def avoided_cost_delete(request, pk):
    estimate = get_object_or_404(
        AvoidedCostEstimate.objects.filter(
            evaluation__in=Evaluation.objects.visible_to(request.membership)
        ).select_related("evaluation__service__structure"),
        pk=pk,
    )
    evaluation = estimate.evaluation
    if not can_manage_structure(request.membership, evaluation.service.structure):
        raise PermissionDenied(_(MANAGE_REFUSED))
    try:
        services.avoided_cost_delete(actor=request.membership, estimate=estimate)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return redirect("evaluation:evaluation_detail", pk=evaluation.pk)


# --- surveys -------------------------------------------------------------------------------


@role_required(Role.COORDINATOR)
def survey_create(request):
    structure = _own_structure(request)
    form = forms.SurveyForm(request.POST or None, structure=structure)
    if request.method == "POST" and form.is_valid():
        data = {k: form.cleaned_data[k] for k in ("audience", "title", "opens_on", "closes_on")}
        survey = apply_service(
            form,
            lambda: services.survey_create(
                actor=request.membership, service=form.cleaned_data["service"], data=data
            ),
        )
        if survey:
            return redirect("evaluation:survey_detail", pk=survey.pk)
    return form_page(
        request,
        form,
        title=_("Nouvelle enquête de satisfaction"),
        intro=_(
            "Les questions sont les mêmes pour toutes les enquêtes (une par registre CITER, "
            "de 1 à 5, et un commentaire libre) ; les réponses sont anonymes."
        ),
        cancel_url=reverse("evaluation:evaluation_list"),
    )


@require_safe
@role_required(Role.MEDIATOR, Role.COORDINATOR, Role.ADMIN)
def survey_detail(request, pk):
    membership = request.membership
    survey = get_object_or_404(
        Survey.objects.visible_to(membership).select_related("service"), pk=pk
    )
    results = queries.survey_results(survey)
    # Free text is anonymous but may name someone: the structure's coordination only.
    sees_comments = (
        membership.role == Role.COORDINATOR and membership.structure_id == survey.structure_id
    )
    comments = (
        queries.survey_comments(survey) if sees_comments and not results["suppressed"] else None
    )
    path = reverse("evaluation:survey_answer", kwargs={"survey_token": survey.token})
    link = settings.LIEN_BASE_URL.rstrip("/") + path
    closed = survey.closes_on < timezone.localdate()
    return render(
        request,
        "evaluation/survey_detail.html",
        {
            "survey": survey,
            "results": results,
            "comments": comments,
            "sees_comments": sees_comments,
            "link": link,
            # To show on a phone or print on a poster, while answers are still taken.
            "qr": None
            if closed
            else qr_svg(link, label=_("Image à scanner pour ouvrir le questionnaire")),
            "is_open": survey.is_open_on(timezone.localdate()),
            "threshold": queries.threshold(),
        },
    )


def survey_answer(request, survey_token):
    """The public questionnaire: no account, CSRF-protected, refused outside its dates."""
    survey = None
    if TOKEN_SHAPE.fullmatch(survey_token):
        survey = Survey.objects.select_related("service").filter(token=survey_token).first()
    if survey is None:
        return render(request, "evaluation/survey_answer.html", {"unknown": True}, status=404)
    if request.method == "GET" and request.GET.get("merci") == "1":
        return render(request, "evaluation/survey_answer.html", {"survey": survey, "thanks": True})
    if not survey.is_open_on(timezone.localdate()):
        return render(
            request, "evaluation/survey_answer.html", {"survey": survey, "closed": True}, status=403
        )
    if request.method not in ("GET", "HEAD", "POST"):
        return render(request, "evaluation/survey_answer.html", {"unknown": True}, status=405)
    form = forms.SurveyAnswerForm(request.POST or None)
    if (
        request.method == "POST"
        and form.is_valid()
        and apply_service(
            form, lambda: services.survey_answer(survey=survey, answers=form.answers())
        )
    ):
        return redirect(request.path + "?merci=1")
    return render(request, "evaluation/survey_answer.html", {"survey": survey, "form": form})
