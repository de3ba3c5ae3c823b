"""Pages of the follow-up: situations, referrals (and the partner's signed link),
dysfunction reports and their routing rules, social watch, collective actions."""

import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lien.core.models import Role
from lien.core.permissions import role_required
from lien.core.signals import client_ip
from lien.core.tabular import export_format, export_list, querystring_for_export
from lien.core.validators import is_uuid
from lien.followup import exports, forms, links, queries, services, subject_requests
from lien.followup.models import (
    OPEN_REFERRAL_STATUSES,
    Agreement,
    AlertLevel,
    CollectiveAction,
    NextStep,
    Observation,
    Referral,
    ReferralStatus,
    ReportCategory,
    ReportStatus,
    RoutingRule,
    Situation,
    SituationStatus,
    TechnicalReport,
)
from lien.followup.routing import likely_duplicates
from lien.territories.models import Territory

STRUCTURE = (Role.MEDIATOR, Role.COORDINATOR)
BODIES = (Role.FUNDER, Role.PARTNER)


def _errors_into(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            for message in errors:
                form.add_error(field if field in form.fields else None, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)


def _page(request, queryset, per_page=25):
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def _form_page(request, form, *, title, intro="", cancel_url, submit="Enregistrer", extra=None):
    return render(
        request,
        "followup/form.html",
        {
            "form": form,
            "title": title,
            "intro": intro,
            "cancel_url": cancel_url,
            "submit": submit,
            **(extra or {}),
        },
    )


# --- situations -----------------------------------------------------------------------------


@role_required(*STRUCTURE)
def situation_list(request):
    status = request.GET.get("etat", "open")
    situations = Situation.objects.visible_to(request.membership).select_related(
        "service", "category", "commune"
    )
    if status in SituationStatus.values:
        situations = situations.filter(status=status)
    if fmt := export_format(request):
        return export_list(
            request,
            queryset=situations,
            columns=exports.SITUATION_COLUMNS,
            name="suivis",
            what="suivis (colonnes pseudonymes)",
            fmt=fmt,
            sheet="Suivis",
        )
    return render(
        request,
        "followup/situation_list.html",
        {
            "page": _page(request, situations),
            "status": status,
            "statuses": SituationStatus,
            "export_query": querystring_for_export(request),
        },
    )


@role_required(*STRUCTURE)
def situation_create(request):
    membership = request.membership
    form = forms.SituationForm(request.POST or None, structure=membership.structure)
    if request.method == "POST" and form.is_valid():
        try:
            situation = services.situation_create(
                actor=membership, data=form.situation_data(), parties=form.parties_data()
            )
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, f"Suivi {situation.reference} ouvert.")
            return redirect("followup:situation_detail", pk=situation.pk)
    return _form_page(
        request,
        form,
        title="Ouvrir un suivi",
        intro="Un suivi est pseudonyme par défaut : initiales ou pseudonyme, jamais de nom, "
        "sauf si le suivi l'exige et que la personne y consent.",
        cancel_url=reverse("followup:situation_list"),
    )


def _situation(request, pk) -> Situation:
    return get_object_or_404(
        Situation.objects.visible_to(request.membership).select_related(
            "service", "category", "commune", "qpv", "domain", "closing_outcome", "structure"
        ),
        pk=pk,
    )


@role_required(*STRUCTURE)
def situation_detail(request, pk):
    situation = _situation(request, pk)
    membership = request.membership
    if situation.is_nominative:
        services.situation_read_nominative(
            actor=membership, situation=situation, ip=client_ip(request)
        )
    structure = membership.structure
    today = timezone.localdate()
    meetings = situation.meetings.select_related("intervention__outcome").order_by(
        "-intervention__started_at"
    )
    return render(
        request,
        "followup/situation_detail.html",
        {
            "situation": situation,
            "parties": situation.parties.all(),
            "steps": situation.next_steps.select_related("assignee"),
            "agreements": situation.agreements.all(),
            "meetings": meetings,
            "referrals": situation.referrals.select_related("partner", "theme"),
            "party_form": forms.PartyForm(prefix="party"),
            "step_form": forms.NextStepForm(
                prefix="step", structure=structure, initial={"assignee": request.user.pk}
            ),
            "agreement_form": forms.AgreementForm(
                prefix="agreement",
                initial={"agreed_on": today, "review_on": today + datetime.timedelta(days=30)},
            ),
            "meeting_form": forms.MeetingForm(
                prefix="meeting",
                initial={
                    "started_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
                    "duration_minutes": 45,
                    "people_met": 2,
                },
            ),
            "close_form": forms.CloseSituationForm(prefix="close", initial={"closed_on": today}),
            "review_form": forms.AgreementReviewForm(prefix="review"),
            "is_open": situation.status == SituationStatus.OPEN,
        },
    )


@role_required(*STRUCTURE)
def situation_edit(request, pk):
    situation = _situation(request, pk)
    if situation.status == SituationStatus.CLOSED:
        raise PermissionDenied("Un suivi clos ne se modifie plus.")
    initial = {
        "service": situation.service_id,
        "kind": situation.kind,
        "initials": situation.initials,
        "domain": situation.domain_id,
        "category": situation.category_id,
        "commune": situation.commune.code,
        "qpv": situation.qpv.code if situation.qpv_id else "",
        "summary": situation.summary,
        "is_nominative": situation.is_nominative,
        "names": situation.names,
        "contact": situation.contact,
        "consent_on": situation.consent_on,
        "consent_scope": situation.consent_scope,
    }
    form = forms.SituationForm(
        request.POST or None,
        initial=initial,
        structure=request.membership.structure,
        editing=True,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.situation_update(
                actor=request.membership, situation=situation, data=form.situation_data()
            )
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, "Suivi mis à jour.")
            return redirect("followup:situation_detail", pk=situation.pk)
    return _form_page(
        request,
        form,
        title=f"Modifier le suivi {situation.reference}",
        cancel_url=reverse("followup:situation_detail", args=[situation.pk]),
    )


def _back_to(situation, anchor=""):
    return redirect(reverse("followup:situation_detail", args=[situation.pk]) + anchor)


def _flash_errors(request, form_or_exc) -> None:
    if isinstance(form_or_exc, ValidationError):
        for message in form_or_exc.messages:
            messages.error(request, message)
        return
    for field, errors in form_or_exc.errors.items():
        label = form_or_exc.fields[field].label if field in form_or_exc.fields else ""
        for error in errors:
            messages.error(request, f"{label} : {error}" if label else error)


@require_POST
@role_required(*STRUCTURE)
def situation_close(request, pk):
    situation = _situation(request, pk)
    form = forms.CloseSituationForm(request.POST, prefix="close")
    if form.is_valid():
        try:
            services.situation_close(
                actor=request.membership,
                situation=situation,
                outcome=form.cleaned_data["outcome"],
                closed_on=form.cleaned_data["closed_on"],
            )
            messages.success(request, "Suivi clos.")
        except ValidationError as exc:
            _flash_errors(request, exc)
    else:
        _flash_errors(request, form)
    return _back_to(situation)


@require_POST
@role_required(*STRUCTURE)
def situation_withdraw(request, pk):
    situation = _situation(request, pk)
    services.situation_withdraw_consent(actor=request.membership, situation=situation)
    messages.success(request, "Consentement retiré : les noms et coordonnées sont effacés.")
    return _back_to(situation)


@require_POST
@role_required(*STRUCTURE)
def situation_party(request, pk):
    situation = _situation(request, pk)
    form = forms.PartyForm(request.POST, prefix="party")
    if form.is_valid():
        try:
            services.party_add(actor=request.membership, situation=situation, **form.cleaned_data)
        except ValidationError as exc:
            _flash_errors(request, exc)
    else:
        _flash_errors(request, form)
    return _back_to(situation, "#parties")


@require_POST
@role_required(*STRUCTURE)
def situation_step(request, pk):
    situation = _situation(request, pk)
    form = forms.NextStepForm(request.POST, prefix="step", structure=request.membership.structure)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.next_step_add(
                actor=request.membership,
                situation=situation,
                text=data["text"],
                due_on=data["due_on"],
                assignee=data["assignee"],
            )
        except ValidationError as exc:
            _flash_errors(request, exc)
    else:
        _flash_errors(request, form)
    return _back_to(situation, "#etapes")


@require_POST
@role_required(*STRUCTURE)
def situation_agreement(request, pk):
    situation = _situation(request, pk)
    form = forms.AgreementForm(request.POST, prefix="agreement")
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.agreement_add(
                actor=request.membership,
                situation=situation,
                text=data["text"],
                agreed_on=data["agreed_on"],
                review_on=data["review_on"],
            )
        except ValidationError as exc:
            _flash_errors(request, exc)
    else:
        _flash_errors(request, form)
    return _back_to(situation, "#accords")


@require_POST
@role_required(*STRUCTURE)
def situation_meeting(request, pk):
    situation = _situation(request, pk)
    form = forms.MeetingForm(request.POST, prefix="meeting")
    if not form.is_valid():
        _flash_errors(request, form)
        return _back_to(situation, "#rencontres")
    entry = forms.meeting_entry(
        situation, form.cleaned_data, structure=request.membership.structure, author=request.user
    )
    if not entry.is_valid():
        for field, errors in entry.errors.items():
            for error in errors:
                messages.error(request, f"{field} : {error}")
        return _back_to(situation, "#rencontres")
    try:
        services.meeting_log(
            actor=request.membership, situation=situation, form_data=entry.intervention_data()
        )
        messages.success(request, "Rencontre enregistrée dans le journal de bord.")
    except ValidationError as exc:
        _flash_errors(request, exc)
    return _back_to(situation, "#rencontres")


@require_POST
@role_required(*STRUCTURE)
def nextstep_done(request, uid):
    step = get_object_or_404(
        NextStep.objects.filter(
            situation__in=Situation.objects.visible_to(request.membership)
        ).select_related("situation"),
        uid=uid,
    )
    try:
        services.next_step_done(actor=request.membership, step=step)
    except ValidationError as exc:
        _flash_errors(request, exc)
    target = request.POST.get("next")
    if target == "mine":
        return redirect("followup:my_next_steps")
    return _back_to(step.situation, "#etapes")


@require_POST
@role_required(*STRUCTURE)
def agreement_review(request, uid):
    agreement = get_object_or_404(
        Agreement.objects.filter(
            situation__in=Situation.objects.visible_to(request.membership)
        ).select_related("situation"),
        uid=uid,
    )
    form = forms.AgreementReviewForm(request.POST, prefix="review")
    if form.is_valid():
        services.agreement_review(
            actor=request.membership, agreement=agreement, held=form.cleaned_data["held"]
        )
    else:
        _flash_errors(request, form)
    return _back_to(agreement.situation, "#accords")


@role_required(*STRUCTURE)
def my_next_steps(request):
    steps = (
        NextStep.objects.filter(
            assignee=request.user,
            done_on__isnull=True,
            situation__in=Situation.objects.visible_to(request.membership).filter(
                status=SituationStatus.OPEN
            ),
        )
        .select_related("situation")
        .order_by("due_on")
    )
    return render(
        request,
        "followup/my_next_steps.html",
        {"steps": steps, "today": timezone.localdate()},
    )


# --- referrals ------------------------------------------------------------------------------


@role_required(*STRUCTURE)
def referral_list(request):
    referrals = Referral.objects.visible_to(request.membership).select_related(
        "partner", "theme", "service"
    )
    status = request.GET.get("etat", "")
    if status == "ouvertes":
        referrals = referrals.filter(status__in=OPEN_REFERRAL_STATUSES)
    elif status in ReferralStatus.values:
        referrals = referrals.filter(status=status)
    if fmt := export_format(request):
        return export_list(
            request,
            queryset=referrals,
            columns=exports.REFERRAL_COLUMNS,
            name="mises-en-relation",
            what="mises en relation",
            fmt=fmt,
            sheet="Mises en relation",
        )
    return render(
        request,
        "followup/referral_list.html",
        {
            "page": _page(request, referrals),
            "status": status,
            "statuses": ReferralStatus,
            "inbox": False,
            "export_query": querystring_for_export(request),
        },
    )


@role_required(Role.PARTNER)
def referral_inbox(request):
    referrals = Referral.objects.visible_to(request.membership).select_related("structure", "theme")
    status = request.GET.get("etat", "ouvertes")
    if status == "ouvertes":
        referrals = referrals.filter(status__in=OPEN_REFERRAL_STATUSES)
    elif status in ReferralStatus.values:
        referrals = referrals.filter(status=status)
    if fmt := export_format(request):
        return export_list(
            request,
            queryset=referrals,
            columns=exports.REFERRAL_INBOX_COLUMNS,
            name="orientations-recues",
            what="orientations reçues",
            fmt=fmt,
            sheet="Orientations reçues",
        )
    return render(
        request,
        "followup/referral_list.html",
        {
            "page": _page(request, referrals),
            "status": status,
            "statuses": ReferralStatus,
            "inbox": True,
            "export_query": querystring_for_export(request),
        },
    )


@role_required(*STRUCTURE)
def referral_create(request):
    membership = request.membership
    initial, situation, intervention = {}, None, None
    source = request.GET.get("suivi") or request.POST.get("suivi")
    if source:
        situation = (
            Situation.objects.visible_to(membership).filter(pk=source).first()
            if is_uuid(source)
            else None
        )
        if situation is not None:
            initial.update(
                service=situation.service_id,
                commune=situation.commune.code,
                person=situation.initials,
            )
    source = request.GET.get("intervention") or request.POST.get("intervention")
    if source and is_uuid(source):
        from lien.logbook.models import Intervention

        intervention = Intervention.objects.visible_to(membership).filter(pk=source).first()
        if intervention is not None:
            initial.update(service=intervention.service_id, commune=intervention.commune.code)
    form = forms.ReferralForm(request.POST or None, initial=initial, structure=membership.structure)
    if request.method == "POST" and form.is_valid():
        data = form.referral_data()
        data["situation"] = situation
        data["intervention"] = intervention
        try:
            referral = services.referral_create(actor=membership, data=data)
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(
                request,
                f"Mise en relation envoyée à {referral.partner.name}"
                + (
                    " (lien de réponse envoyé par e-mail)."
                    if referral.partner.contact_email
                    else "."
                ),
            )
            return redirect("followup:referral_detail", pk=referral.pk)
    return _form_page(
        request,
        form,
        title="Orienter vers un partenaire",
        intro="Le partenaire ne voit que ce qui est nécessaire : le thème, la demande, les "
        "initiales et, avec l'accord de la personne, comment la recontacter.",
        cancel_url=reverse("followup:referral_list"),
        extra={
            "hidden": {
                "suivi": str(situation.pk) if situation else "",
                "intervention": str(intervention.pk) if intervention else "",
            }
        },
    )


@role_required(*STRUCTURE, Role.PARTNER)
def referral_detail(request, pk):
    membership = request.membership
    referral = get_object_or_404(
        Referral.objects.visible_to(membership).select_related(
            "partner", "theme", "structure", "service", "commune", "created_by", "situation"
        ),
        pk=pk,
    )
    is_partner = membership.role == Role.PARTNER
    form = None
    if is_partner:
        if request.method == "GET":
            referral = services.referral_mark_seen(actor=membership, referral=referral)
        form = forms.ReferralAnswerForm(request.POST or None, referral=referral)
        if request.method == "POST" and form.is_valid():
            try:
                services.referral_answer(
                    actor=membership,
                    referral=referral,
                    to=form.cleaned_data["status"],
                    refusal_reason=form.cleaned_data.get("refusal_reason") or "",
                    result=form.cleaned_data.get("result") or "",
                    result_note=form.cleaned_data.get("result_note") or "",
                )
            except ValidationError as exc:
                _errors_into(form, exc)
            else:
                messages.success(request, "Réponse enregistrée ; la structure est prévenue.")
                return redirect("followup:referral_detail", pk=referral.pk)
    elif request.method == "POST":
        raise PermissionDenied("Seul le partenaire répond à une mise en relation.")
    show_callback = is_partner or membership.role in STRUCTURE
    if show_callback and referral.callback:
        services.referral_read_callback(actor=membership, referral=referral, ip=client_ip(request))
    return render(
        request,
        "followup/referral_detail.html",
        {
            "referral": referral,
            "form": form if form is not None and form.fields["status"].choices else None,
            "is_partner": is_partner,
            "show_callback": show_callback,
        },
    )


@require_POST
@role_required(*STRUCTURE)
def referral_resend(request, pk):
    referral = get_object_or_404(Referral.objects.visible_to(request.membership), pk=pk)
    try:
        services.referral_resend_link(actor=request.membership, referral=referral)
        messages.success(request, "Un nouveau lien a été envoyé ; les précédents ne servent plus.")
    except ValidationError as exc:
        _flash_errors(request, exc)
    return redirect("followup:referral_detail", pk=referral.pk)


def referral_link(request, pk, token):
    """The partner's answer page from its e-mail: no account, this referral only, nothing
    else (no history, no other record, no menu)."""
    referral = (
        Referral.objects.select_related("structure", "theme", "partner").filter(pk=pk).first()
    )
    if referral is None:
        raise Http404
    try:
        links.check_token(referral, token)
    except links.LinkError as exc:
        return render(request, "followup/referral_link.html", {"refused": str(exc)}, status=403)
    if request.method == "GET":
        referral = services.referral_mark_seen(actor=None, referral=referral, via_link=True)
        if referral.callback:
            services.referral_read_callback(actor=None, referral=referral, ip=client_ip(request))
    form = forms.ReferralAnswerForm(request.POST or None, referral=referral)
    if request.method == "POST" and form.is_valid():
        try:
            referral = services.referral_answer(
                actor=None,
                referral=referral,
                to=form.cleaned_data["status"],
                refusal_reason=form.cleaned_data.get("refusal_reason") or "",
                result=form.cleaned_data.get("result") or "",
                result_note=form.cleaned_data.get("result_note") or "",
                via_link=True,
            )
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            if referral.is_open:
                return redirect(request.path + "?merci=1")
            return render(request, "followup/referral_link.html", {"thanks": referral})
    return render(
        request,
        "followup/referral_link.html",
        {
            "referral": referral,
            "form": form if form.fields["status"].choices else None,
            "thanked": request.GET.get("merci") == "1",
        },
    )


# --- dysfunction reports --------------------------------------------------------------------


@role_required(*STRUCTURE)
def report_list(request):
    reports = TechnicalReport.objects.visible_to(request.membership).select_related(
        "commune", "routed_to"
    )
    status = request.GET.get("etat", "")
    if status in ReportStatus.values:
        reports = reports.filter(status=status)
    if fmt := export_format(request):
        return export_list(
            request,
            queryset=reports,
            columns=exports.REPORT_COLUMNS,
            name="signalements",
            what="signalements de veille technique",
            fmt=fmt,
            sheet="Signalements",
        )
    return render(
        request,
        "followup/report_list.html",
        {
            "page": _page(request, reports),
            "status": status,
            "statuses": ReportStatus,
            "inbox": False,
            "export_query": querystring_for_export(request),
        },
    )


@role_required(*BODIES)
def report_inbox(request):
    reports = TechnicalReport.objects.visible_to(request.membership).select_related(
        "commune", "structure"
    )
    status = request.GET.get("etat", "")
    if status in ReportStatus.values:
        reports = reports.filter(status=status)
    if fmt := export_format(request):
        return export_list(
            request,
            queryset=reports,
            columns=exports.REPORT_INBOX_COLUMNS,
            name="signalements-recus",
            what="signalements reçus",
            fmt=fmt,
            sheet="Signalements reçus",
        )
    return render(
        request,
        "followup/report_list.html",
        {
            "page": _page(request, reports),
            "status": status,
            "statuses": ReportStatus,
            "inbox": True,
            "export_query": querystring_for_export(request),
        },
    )


@role_required(*STRUCTURE)
def report_create(request):
    membership = request.membership
    form = forms.ReportForm(
        request.POST or None, request.FILES or None, structure=membership.structure
    )
    duplicates = []
    if request.method == "POST" and form.is_valid():
        data = form.report_data()
        duplicates = likely_duplicates(
            structure=membership.structure,
            category=data["category"],
            commune=data["commune"],
            qpv=data["qpv"],
            latitude=data["latitude"],
            longitude=data["longitude"],
            address=data["address"],
        )
        if duplicates and not form.cleaned_data.get("not_duplicate"):
            form.add_error(
                "not_duplicate",
                "Des signalements semblables sont ouverts (liste ci-dessous). S'il s'agit du "
                "même dysfonctionnement, inutile de le signaler à nouveau ; sinon cochez cette "
                "case. (La photo est à joindre de nouveau.)",
            )
        else:
            try:
                report = services.report_create(
                    actor=membership, data=data, photo=form.cleaned_data.get("photo")
                )
            except ValidationError as exc:
                _errors_into(form, exc)
            else:
                messages.success(
                    request,
                    f"Signalement transmis à {report.routed_to.name}."
                    if report.routed_to
                    else "Signalement enregistré ; aucune règle ne désigne de destinataire : "
                    "la coordination va le transmettre.",
                )
                return redirect("followup:report_detail", pk=report.pk)
    return _form_page(
        request,
        form,
        title="Signaler un dysfonctionnement",
        intro="Le signalement est transmis à l'organisme responsable du lieu (bailleur, "
        "ville, transporteur…) selon les règles de votre structure.",
        cancel_url=reverse("followup:report_list"),
        extra={"duplicates": duplicates, "multipart": True},
    )


def _report(request, pk) -> TechnicalReport:
    return get_object_or_404(
        TechnicalReport.objects.visible_to(request.membership).select_related(
            "commune", "qpv", "routed_to", "structure", "service", "place_type", "created_by"
        ),
        pk=pk,
    )


@role_required(*STRUCTURE, *BODIES)
def report_detail(request, pk):
    membership = request.membership
    report = _report(request, pk)
    is_body = membership.role in BODIES
    answer_form = None
    if is_body and report.status in (ReportStatus.SENT, ReportStatus.ACKNOWLEDGED):
        answer_form = forms.ReportAnswerForm(request.POST or None)
        if report.status == ReportStatus.ACKNOWLEDGED:
            answer_form.fields["status"].choices = answer_form.fields["status"].choices[1:]
        if request.method == "POST" and answer_form.is_valid():
            try:
                services.report_answer(
                    actor=membership,
                    report=report,
                    to=answer_form.cleaned_data["status"],
                    response=answer_form.cleaned_data.get("response") or "",
                )
            except ValidationError as exc:
                _errors_into(answer_form, exc)
            else:
                messages.success(request, "Réponse enregistrée ; la structure est prévenue.")
                return redirect("followup:report_detail", pk=report.pk)
    elif request.method == "POST":
        raise PermissionDenied("Cette action n'est pas possible sur ce signalement.")
    route_form = None
    if membership.role == Role.COORDINATOR and report.status in (
        ReportStatus.UNROUTED,
        ReportStatus.SENT,
    ):
        route_form = forms.ReportRouteForm(initial={"organisation": report.routed_to_id})
    return render(
        request,
        "followup/report_detail.html",
        {
            "report": report,
            "answer_form": answer_form,
            "route_form": route_form,
            "is_body": is_body,
            "duplicates": [] if is_body else report.duplicates.all(),
        },
    )


@role_required(*STRUCTURE, *BODIES)
def report_photo(request, pk):
    """The photo, only to those who may see the report; never from a public path."""
    report = _report(request, pk)
    if not report.photo:
        raise Http404
    response = FileResponse(report.photo.open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=0, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = 'inline; filename="signalement.jpg"'
    return response


@require_POST
@role_required(Role.COORDINATOR)
def report_route(request, pk):
    report = _report(request, pk)
    form = forms.ReportRouteForm(request.POST)
    if form.is_valid():
        try:
            services.report_route(
                actor=request.membership,
                report=report,
                organisation=form.cleaned_data["organisation"],
            )
            messages.success(request, "Signalement transmis.")
        except ValidationError as exc:
            _flash_errors(request, exc)
    else:
        _flash_errors(request, form)
    return redirect("followup:report_detail", pk=report.pk)


@role_required(*STRUCTURE)
def routing_rule_list(request):
    membership = request.membership
    form = None
    if membership.role == Role.COORDINATOR:
        form = forms.RoutingRuleForm(request.POST or None, structure=membership.structure)
        if request.method == "POST" and form.is_valid():
            try:
                services.routing_rule_create(actor=membership, data=form.cleaned_data)
            except ValidationError as exc:
                _errors_into(form, exc)
            else:
                messages.success(request, "Règle ajoutée.")
                return redirect("followup:routing_rule_list")
    elif request.method == "POST":
        raise PermissionDenied("Seule la coordination modifie les règles.")
    rules = (
        RoutingRule.objects.visible_to(membership)
        .filter(is_active=True)
        .select_related("territory", "organisation", "place_type")
    )
    return render(
        request,
        "followup/routing_rules.html",
        {"rules": rules, "form": form, "categories": ReportCategory},
    )


@require_POST
@role_required(Role.COORDINATOR)
def routing_rule_deactivate(request, uid):
    rule = get_object_or_404(RoutingRule.objects.visible_to(request.membership), uid=uid)
    services.routing_rule_deactivate(actor=request.membership, rule=rule)
    messages.success(request, "Règle retirée.")
    return redirect("followup:routing_rule_list")


# --- social watch ---------------------------------------------------------------------------


@role_required(*STRUCTURE, *BODIES)
def observation_list(request):
    observations = (
        Observation.objects.visible_to(request.membership)
        .select_related("sector", "structure")
        .prefetch_related("categories")
    )
    sector = None
    sector_id = request.GET.get("secteur")
    if sector_id and sector_id.isdigit():
        sector = Territory.objects.filter(pk=int(sector_id)).first()
        if sector is not None:
            observations = observations.filter(sector=sector)
    level = request.GET.get("niveau")
    if level in AlertLevel.values:
        observations = observations.filter(level=level)
    if fmt := export_format(request):
        return export_list(
            request,
            queryset=observations,
            columns=exports.OBSERVATION_COLUMNS,
            name="veille-sociale",
            what="observations de veille sociale",
            fmt=fmt,
            sheet="Veille sociale",
        )
    sectors = Territory.objects.filter(
        pk__in=Observation.objects.visible_to(request.membership).values("sector")
    ).order_by("name")
    return render(
        request,
        "followup/observation_list.html",
        {
            "page": _page(request, observations, per_page=50),
            "sector": sector,
            "sectors": sectors,
            "level": level,
            "levels": AlertLevel,
            "can_write": request.membership.role in STRUCTURE,
            "export_query": querystring_for_export(request),
        },
    )


@role_required(*STRUCTURE)
def observation_create(request):
    membership = request.membership
    form = forms.ObservationForm(
        request.POST or None,
        initial={"observed_on": timezone.localdate(), "level": AlertLevel.INFO},
        structure=membership.structure,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            observation = services.observation_create(
                actor=membership,
                data={
                    "service": data["service"],
                    "sector": data["sector"],
                    "observed_on": data["observed_on"],
                    "level": data["level"],
                    "text": data["text"],
                    "text_warnings": form.warnings.get("text", []),
                },
                categories=data["categories"],
                shared_with=data["shared_with"],
            )
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, "Observation enregistrée.")
            return redirect(
                reverse("followup:observation_list")
                + "?"
                + urlencode({"secteur": observation.sector_id})
            )
    return _form_page(
        request,
        form,
        title="Noter une observation de veille sociale",
        intro="Le climat d'un secteur, sans nom : tensions, regroupements, besoins repérés.",
        cancel_url=reverse("followup:observation_list"),
    )


# --- collective actions ---------------------------------------------------------------------


@role_required(*STRUCTURE)
def collective_action_list(request):
    actions = CollectiveAction.objects.visible_to(request.membership).select_related(
        "service", "commune"
    )
    if fmt := export_format(request):
        return export_list(
            request,
            queryset=actions,
            columns=exports.COLLECTIVE_ACTION_COLUMNS,
            name="actions-collectives",
            what="actions collectives",
            fmt=fmt,
            sheet="Actions collectives",
        )
    return render(
        request,
        "followup/collective_action_list.html",
        {"page": _page(request, actions), "export_query": querystring_for_export(request)},
    )


@role_required(*STRUCTURE)
def collective_action_create(request):
    return _collective_action_form(request, None)


@role_required(*STRUCTURE)
def collective_action_edit(request, pk):
    action = get_object_or_404(CollectiveAction.objects.visible_to(request.membership), pk=pk)
    return _collective_action_form(request, action)


def _collective_action_form(request, action):
    membership = request.membership
    initial = {"held_on": timezone.localdate(), "duration_minutes": 120}
    if action is not None:
        initial = {
            name: getattr(action, name)
            for name in (
                "service",
                "kind",
                "title",
                "held_on",
                "duration_minutes",
                "place",
                *CollectiveAction.AUDIENCES,
                "notes",
            )
        }
        initial.update(
            service=action.service_id,
            commune=action.commune.code,
            qpv=action.qpv.code if action.qpv_id else "",
            partners=list(action.partners.values_list("pk", flat=True)),
        )
    form = forms.CollectiveActionForm(
        request.POST or None, initial=initial, structure=membership.structure
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.collective_action_save(
                actor=membership,
                data=form.action_data(),
                partners=form.cleaned_data["partners"],
                action=action,
            )
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, "Action collective enregistrée.")
            return redirect("followup:collective_action_list")
    return _form_page(
        request,
        form,
        title="Modifier l'action collective" if action else "Noter une action collective",
        cancel_url=reverse("followup:collective_action_list"),
    )


# --- data-subject requests --------------------------------------------------------------


@role_required(Role.COORDINATOR)
def subject_request(request):
    """Right of access and erasure: find what the structure holds about a person (by
    pseudonym, initials, name or reference), export it, or anonymise it."""
    term = request.POST.get("term") if request.method == "POST" else request.GET.get("term")
    context = {"term": term or "", "records": None, "error": ""}
    if term is None:
        return render(request, "followup/subject_request.html", context)
    action = request.POST.get("action", "") if request.method == "POST" else "search"
    ip = client_ip(request)
    try:
        if action == "export":
            document = subject_requests.export_records(
                actor=request.membership, term=term, ip_address=ip
            )
            response = JsonResponse(
                document, json_dumps_params={"ensure_ascii": False, "indent": 2}
            )
            stamp = timezone.localdate().isoformat()
            response["Content-Disposition"] = (
                f'attachment; filename="demande-de-droits-{stamp}.json"'
            )
            return response
        if action == "erase":
            if request.POST.get("confirm") != "on":
                context["error"] = _(
                    "Cochez la case de confirmation : l'effacement ne peut pas être annulé."
                )
                context["records"] = subject_requests.find_records(
                    actor=request.membership, term=term, ip_address=ip
                )
                return render(request, "followup/subject_request.html", context, status=400)
            erased = subject_requests.erase_records(
                actor=request.membership, term=term, ip_address=ip
            )
            messages.success(
                request,
                _("%(n)s enregistrement(s) anonymisé(s).") % {"n": erased.count},
            )
            return redirect(reverse("followup:subject_request"))
        if action != "search":
            return render(
                request,
                "400.html",
                {
                    "message": _(
                        "Action inconnue : « %(action)s » (attendu : search, export ou erase)."
                    )
                    % {"action": action[:40]}
                },
                status=400,
            )
        context["records"] = subject_requests.find_records(
            actor=request.membership, term=term, ip_address=ip
        )
    except ValidationError as error:
        context["error"] = " ".join(error.messages)
        return render(request, "followup/subject_request.html", context, status=400)
    return render(request, "followup/subject_request.html", context)


# --- free-text warnings kept -------------------------------------------------------------


@role_required(Role.COORDINATOR)
def screening_overrides(request):
    """How often the structure's texts were kept despite a personal-data warning, by kind
    of text and by category: where the team may need a reminder of the rules."""
    rows = queries.screening_overrides(structure_id=request.membership.structure_id)
    return render(
        request,
        "followup/screening_overrides.html",
        {
            "rows": rows,
            "texts": sum(r.texts for r in rows),
            "overridden": sum(r.overridden for r in rows),
        },
    )
