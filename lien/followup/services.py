"""The write path of follow-up records: one function per state change.

Each checks the actor's right, writes in a transaction, journals the change (nominative
fields are never copied into the journal: only the fact that they changed) and notifies
whoever must act next — in-app and by e-mail through the job queue, after commit.
"""

import datetime
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from lien.core import audit
from lien.core.models import AuditAction, Membership, Role, User
from lien.core.permissions import require_role
from lien.core.retention import cutoff
from lien.followup import links
from lien.followup.models import (
    REFERRAL_TRANSITIONS,
    REPORT_TRANSITIONS,
    Agreement,
    CollectiveAction,
    NextStep,
    Observation,
    Party,
    Referral,
    ReferralStatus,
    ReportStatus,
    RoutingRule,
    Situation,
    SituationMeeting,
    SituationStatus,
    TechnicalReport,
)
from lien.followup.routing import route

STRUCTURE_ROLES = (Role.MEDIATOR, Role.COORDINATOR)


class TransitionError(ValidationError):
    """A state change the status machine does not allow."""


# --- helpers --------------------------------------------------------------------------------


def _require_structure_member(actor: Membership | None, structure_id) -> Membership:
    require_role(actor, *STRUCTURE_ROLES)
    if actor.structure_id != structure_id:
        raise PermissionDenied("Cet enregistrement relève d'une autre structure.")
    return actor


def _require_coordinator(actor: Membership | None, structure_id) -> Membership:
    require_role(actor, Role.COORDINATOR)
    if actor.structure_id != structure_id:
        raise PermissionDenied("Cet enregistrement relève d'une autre structure.")
    return actor


def organisation_users(organisation_id):
    return User.objects.filter(
        is_active=True,
        memberships__organisation_id=organisation_id,
        memberships__is_active=True,
        memberships__role__in=(Role.FUNDER, Role.PARTNER),
    ).distinct()


def _notify(recipients: Iterable[User], **kwargs) -> None:
    from lien.notifications.services import notify

    recipients = list(recipients)
    kwargs["title"] = " ".join(kwargs["title"].split())[:200]
    kwargs["body"] = kwargs.get("body", "")[:1000]
    if recipients:
        notify(recipients=recipients, **kwargs)


def _email_outside(to: list[str], subject: str, body: str) -> None:
    from lien.notifications.services import send_external_email

    to = [address for address in to if address]
    if to:
        send_external_email(to=to, subject=subject, body=body)


# --- situations -----------------------------------------------------------------------------


def _next_reference(structure_id, year: int) -> str:
    prefix = f"S-{year}-"
    last = (
        Situation.objects.filter(structure_id=structure_id, reference__startswith=prefix)
        .aggregate(m=Max("reference"))
        .get("m")
    )
    number = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{number:04d}"


def _purge_date(situation: Situation) -> datetime.date:
    months = situation.structure.situation_retention_months
    base = situation.closed_on or situation.opened_on
    if situation.status == SituationStatus.OPEN:
        months += 24  # an open follow-up not closed within two years is purged anyway
    index = base.year * 12 + base.month - 1 + months
    day = min(base.day, 28)
    return datetime.date(index // 12, index % 12 + 1, day)


def situation_create(*, actor: Membership, data: dict, parties: Iterable[dict] = ()) -> Situation:
    structure = actor.structure
    _require_structure_member(actor, structure.pk if structure else None)
    for attempt in range(3):
        try:
            with transaction.atomic():
                situation = Situation(structure=structure, created_by=actor.user, **data)
                situation.reference = _next_reference(structure.pk, situation.opened_on.year)
                situation.purge_on = _purge_date(situation)
                situation.full_clean()
                situation.save()
                for party in parties:
                    Party.objects.create(situation=situation, **party)
                audit.record(
                    action=AuditAction.CREATE,
                    actor=actor,
                    obj=situation,
                    after=audit.masked(audit.snapshot(situation), Situation.NOMINATIVE_FIELDS),
                )
                return situation
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@transaction.atomic
def situation_update(*, actor: Membership, situation: Situation, data: dict) -> Situation:
    _require_structure_member(actor, situation.structure_id)
    if situation.status == SituationStatus.CLOSED:
        raise ValidationError("Un suivi clos ne se modifie plus.")
    before = audit.snapshot(situation)
    for name, value in data.items():
        setattr(situation, name, value)
    situation.updated_at = timezone.now()
    situation.full_clean()
    situation.save()
    masked_before, masked_after = audit.masked_pair(
        before, audit.snapshot(situation), Situation.NOMINATIVE_FIELDS
    )
    audit.record(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=situation,
        before=masked_before,
        after=masked_after,
    )
    return situation


def situation_read_nominative(*, actor: Membership, situation: Situation, ip: str | None = None):
    """Journal that `actor` displayed the names of a nominative situation."""
    _require_structure_member(actor, situation.structure_id)
    with transaction.atomic():
        audit.record(
            action=AuditAction.READ,
            actor=actor,
            obj=situation,
            note="Lecture des données nominatives du suivi",
            ip_address=ip,
        )


def referral_read_callback(*, actor: Membership | None, referral: Referral, ip=None):
    """Journal that the call-back details of a referral were shown (by a member of the
    structure, the partner's account, or the partner's signed link when `actor` is None)."""
    with transaction.atomic():
        audit.record(
            action=AuditAction.READ,
            actor=actor,
            obj=referral,
            structure_id=referral.structure_id,
            note="Lecture des coordonnées de rappel"
            + ("" if actor is not None else " (lien signé)"),
            ip_address=ip,
        )


@transaction.atomic
def situation_withdraw_consent(*, actor: Membership, situation: Situation, on=None) -> Situation:
    """Withdrawal closes nominative access: names and contact are erased at once."""
    _require_structure_member(actor, situation.structure_id)
    before = audit.snapshot(situation)
    situation.consent_withdrawn_on = on or timezone.localdate()
    situation.is_nominative = False
    situation.names = ""
    situation.contact = ""
    situation.updated_at = timezone.now()
    situation.save()
    audit.record(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=situation,
        before=audit.masked(before, Situation.NOMINATIVE_FIELDS),
        after=audit.snapshot(situation),
        note="Retrait du consentement : données nominatives effacées",
    )
    return situation


@transaction.atomic
def situation_close(*, actor: Membership, situation: Situation, outcome, closed_on=None):
    _require_structure_member(actor, situation.structure_id)
    if situation.status == SituationStatus.CLOSED:
        raise ValidationError("Ce suivi est déjà clos.")
    before = audit.snapshot(situation)
    situation.status = SituationStatus.CLOSED
    situation.closed_on = closed_on or timezone.localdate()
    if situation.closed_on < situation.opened_on:
        raise ValidationError({"closed_on": "La clôture précède l'ouverture du suivi."})
    situation.closing_outcome = outcome
    situation.purge_on = _purge_date(situation)
    situation.updated_at = timezone.now()
    situation.save()
    masked_before, masked_after = audit.masked_pair(
        before, audit.snapshot(situation), Situation.NOMINATIVE_FIELDS
    )
    audit.record(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=situation,
        before=masked_before,
        after=masked_after,
        note="Clôture du suivi",
    )
    return situation


def _open_situation(actor, situation):
    _require_structure_member(actor, situation.structure_id)
    if situation.status == SituationStatus.CLOSED:
        raise ValidationError("Ce suivi est clos.")


@transaction.atomic
def party_add(*, actor: Membership, situation: Situation, role: str, label: str) -> Party:
    _open_situation(actor, situation)
    party = Party(situation=situation, role=role, label=label)
    party.full_clean()
    party.save()
    audit.record_create(actor=actor, obj=party)
    return party


@transaction.atomic
def next_step_add(*, actor: Membership, situation: Situation, text: str, due_on, assignee):
    _open_situation(actor, situation)
    if not User.objects.of_structure(situation.structure_id).filter(pk=assignee.pk).exists():
        raise ValidationError({"assignee": "Cette personne n'est pas de la structure."})
    step = NextStep(situation=situation, text=text, due_on=due_on, assignee=assignee)
    step.full_clean()
    step.save()
    audit.record_create(actor=actor, obj=step)
    if assignee.pk != actor.user_id:
        _notify(
            [assignee],
            kind="next_step",
            title=f"Prochaine étape confiée : suivi {situation.reference}",
            body=f"« {text} » pour le {due_on:%d/%m/%Y}.",
            url=reverse("followup:situation_detail", args=[situation.pk]),
        )
    return step


@transaction.atomic
def next_step_done(*, actor: Membership, step: NextStep, on=None) -> NextStep:
    _require_structure_member(actor, step.situation.structure_id)
    if step.done_on:
        raise ValidationError("Cette étape est déjà faite.")
    before = audit.snapshot(step)
    step.done_on = on or timezone.localdate()
    step.save(update_fields=["done_on"])
    audit.record_update(actor=actor, obj=step, before=before)
    return step


@transaction.atomic
def agreement_add(*, actor: Membership, situation: Situation, text: str, agreed_on, review_on):
    _open_situation(actor, situation)
    if review_on < agreed_on:
        raise ValidationError({"review_on": "La vérification précède l'accord."})
    agreement = Agreement(situation=situation, text=text, agreed_on=agreed_on, review_on=review_on)
    agreement.full_clean()
    agreement.save()
    audit.record_create(actor=actor, obj=agreement)
    return agreement


@transaction.atomic
def agreement_review(*, actor: Membership, agreement: Agreement, held: bool, on=None):
    _require_structure_member(actor, agreement.situation.structure_id)
    before = audit.snapshot(agreement)
    agreement.held = held
    agreement.reviewed_on = on or timezone.localdate()
    agreement.save(update_fields=["held", "reviewed_on"])
    audit.record_update(actor=actor, obj=agreement, before=before)
    return agreement


def meeting_log(*, actor: Membership, situation: Situation, form_data: dict):
    """A shuttle or round-table meeting: an intervention of the logbook linked to the
    situation (so it counts in the indicators like any other)."""
    from lien.logbook import services as logbook

    _open_situation(actor, situation)
    with transaction.atomic():
        intervention = logbook.intervention_create(actor=actor, data=form_data)
        SituationMeeting.objects.create(situation=situation, intervention=intervention)
    return intervention


# --- referrals ------------------------------------------------------------------------------


def referral_link(referral: Referral, *, absolute: bool = True) -> str:
    from django.conf import settings

    path = reverse("followup:referral_link", args=[referral.pk, links.make_token(referral)])
    return f"{settings.LIEN_BASE_URL.rstrip('/')}{path}" if absolute else path


def _partner_message(referral: Referral) -> tuple[str, str]:
    subject = f"Lien — mise en relation : {referral.theme.label}"
    body = (
        f"{referral.structure.name} vous oriente une personne ({referral.person}) pour : "
        f"{referral.theme.label}.\n\nDemande : {referral.request}\n\n"
        f"Répondez (acceptée, refusée, aboutie) avant le {referral.expires_on:%d/%m/%Y} :\n"
        f"{referral_link(referral)}\n\nCe lien est personnel et ne sert qu'à cette mise en "
        "relation. Ne le transférez pas."
    )
    return subject, body


def referral_create(*, actor: Membership, data: dict) -> Referral:
    structure = actor.structure
    _require_structure_member(actor, structure.pk if structure else None)
    partner = data["partner"]
    if partner.kind not in ("partner", "both") or not partner.is_active:
        raise ValidationError({"partner": "Choisissez un partenaire actif."})
    if data.get("service") and data["service"].structure_id != structure.pk:
        raise ValidationError({"service": "Ce dispositif relève d'une autre structure."})
    with transaction.atomic():
        referral = Referral(structure=structure, created_by=actor.user, **data)
        referral.expires_on = timezone.localdate() + datetime.timedelta(
            days=structure.referral_expiry_days
        )
        referral.link_nonce = links.new_nonce()
        referral.full_clean()
        referral.save()
        audit.record(
            action=AuditAction.CREATE,
            actor=actor,
            obj=referral,
            after=audit.masked(audit.snapshot(referral), ("callback",)),
        )
        url = reverse("followup:referral_detail", args=[referral.pk])
        _notify(
            organisation_users(partner.pk),
            kind="referral_received",
            title=f"Nouvelle mise en relation : {referral.theme.label}",
            body=f"De {structure.name}, pour {referral.person}.",
            url=url,
        )
        if partner.contact_email:
            _email_outside([partner.contact_email], *_partner_message(referral))
    return referral


def _transition(referral: Referral, to: str) -> None:
    if to not in REFERRAL_TRANSITIONS[referral.status]:
        raise TransitionError(
            f"Impossible de passer de « {referral.get_status_display()} » à "
            f"« {ReferralStatus(to).label} ».",
            code="transition",
        )


def _can_answer(actor: Membership | None, referral: Referral, via_link: bool) -> None:
    if via_link:
        return
    require_role(actor, Role.PARTNER)
    if actor.organisation_id != referral.partner_id:
        raise PermissionDenied("Cette mise en relation est adressée à un autre partenaire.")


@transaction.atomic
def referral_mark_seen(*, actor: Membership | None, referral: Referral, via_link=False):
    _can_answer(actor, referral, via_link)
    referral = Referral.objects.select_for_update().get(pk=referral.pk)
    if referral.status != ReferralStatus.SENT:
        return referral  # already seen or answered: nothing to do
    referral.status = ReferralStatus.SEEN
    referral.seen_at = timezone.now()
    referral.save(update_fields=["status", "seen_at"])
    audit.record(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=referral,
        before={"status": ReferralStatus.SENT},
        after={"status": ReferralStatus.SEEN},
        note="Vue par le partenaire" + (" (lien signé)" if via_link else ""),
    )
    return referral


@transaction.atomic
def referral_answer(
    *,
    actor: Membership | None,
    referral: Referral,
    to: str,
    refusal_reason: str = "",
    result: str = "",
    result_note: str = "",
    via_link: bool = False,
) -> Referral:
    """accepted / refused (with a reason) / done (with a result), from the partner's account
    or its signed link. The structure is told at once."""
    _can_answer(actor, referral, via_link)
    referral = Referral.objects.select_for_update().get(pk=referral.pk)
    _transition(referral, to)
    if to == ReferralStatus.REFUSED and not refusal_reason.strip():
        raise ValidationError({"refusal_reason": "Indiquez le motif du refus."})
    if to == ReferralStatus.DONE and not result:
        raise ValidationError({"result": "Indiquez le résultat."})
    before = audit.snapshot_fields(referral)
    now = timezone.now()
    referral.status = to
    if to in (ReferralStatus.ACCEPTED, ReferralStatus.REFUSED):
        referral.answered_at = now
        referral.seen_at = referral.seen_at or now
    if to == ReferralStatus.REFUSED:
        referral.refusal_reason = refusal_reason.strip()
        referral.closed_at = now
    if to == ReferralStatus.DONE:
        referral.result = result
        referral.result_note = result_note.strip()
        referral.closed_at = now
    if to in (ReferralStatus.REFUSED, ReferralStatus.DONE):
        referral.link_nonce = ""  # the link has served its purpose
    referral.full_clean()
    referral.save()
    masked_before, masked_after = audit.masked_pair(
        before, audit.snapshot_fields(referral), ("callback",)
    )
    audit.record(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=referral,
        before=masked_before,
        after=masked_after,
        note="Réponse du partenaire" + (" (lien signé)" if via_link else ""),
    )
    _notify(
        [referral.created_by],
        kind="referral_answered",
        title=f"Mise en relation {referral.get_status_display().lower()} : {referral.partner.name}",
        body=f"{referral.theme.label} — {referral.person}.",
        url=reverse("followup:referral_detail", args=[referral.pk]),
    )
    return referral


@transaction.atomic
def referral_resend_link(*, actor: Membership, referral: Referral) -> Referral:
    """A new link for the partner (the previous ones stop working)."""
    _require_structure_member(actor, referral.structure_id)
    if not referral.is_open:
        raise ValidationError("Cette mise en relation est close.")
    referral.link_nonce = links.new_nonce()
    referral.save(update_fields=["link_nonce"])
    audit.record(action=AuditAction.UPDATE, actor=actor, obj=referral, note="Nouveau lien envoyé")
    if referral.partner.contact_email:
        _email_outside([referral.partner.contact_email], *_partner_message(referral))
    return referral


def referrals_expire(*, today=None) -> int:
    """Referrals past their date with no answer (or no result) become expired."""
    today = today or timezone.localdate()
    count = 0
    due = Referral.objects.filter(
        status__in=REFERRAL_TRANSITIONS.keys(), expires_on__lt=today
    ).exclude(status__in=(ReferralStatus.REFUSED, ReferralStatus.DONE, ReferralStatus.EXPIRED))
    for referral in due.select_related("partner", "theme", "created_by"):
        with transaction.atomic():
            before = referral.status
            referral.status = ReferralStatus.EXPIRED
            referral.closed_at = timezone.now()
            referral.link_nonce = ""
            referral.save(update_fields=["status", "closed_at", "link_nonce"])
            audit.record(
                action=AuditAction.UPDATE,
                obj=referral,
                before={"status": before},
                after={"status": ReferralStatus.EXPIRED},
                note="Expiration automatique",
            )
            _notify(
                [referral.created_by],
                kind="referral_expired",
                title=f"Mise en relation expirée sans réponse : {referral.partner.name}",
                body=f"{referral.theme.label} — {referral.person}.",
                url=reverse("followup:referral_detail", args=[referral.pk]),
            )
        count += 1
    return count


REMINDER_DAYS_BEFORE = 3


def referrals_remind(*, today=None) -> int:
    """One e-mail to the partner a few days before an unanswered referral expires."""
    today = today or timezone.localdate()
    due = Referral.objects.filter(
        status__in=(ReferralStatus.SENT, ReferralStatus.SEEN),
        reminded_at__isnull=True,
        expires_on__lte=today + datetime.timedelta(days=REMINDER_DAYS_BEFORE),
        expires_on__gte=today,
    ).select_related("partner", "theme", "structure")
    count = 0
    for referral in due:
        with transaction.atomic():
            referral.reminded_at = timezone.now()
            referral.save(update_fields=["reminded_at"])
            subject, body = _partner_message(referral)
            _email_outside([referral.partner.contact_email], "Rappel — " + subject, body)
            _notify(
                organisation_users(referral.partner_id),
                kind="referral_reminder",
                title=f"Rappel : mise en relation sans réponse ({referral.theme.label})",
                body=f"Elle expire le {referral.expires_on:%d/%m/%Y}.",
                url=reverse("followup:referral_detail", args=[referral.pk]),
            )
        count += 1
    return count


def next_steps_remind(*, today=None) -> int:
    """Tell each assignee once about steps due today or overdue."""
    today = today or timezone.localdate()
    due = NextStep.objects.filter(
        done_on__isnull=True,
        due_on__lte=today,
        reminded_at__isnull=True,
        situation__status=SituationStatus.OPEN,
    ).select_related("situation", "assignee")
    count = 0
    for step in due:
        with transaction.atomic():
            step.reminded_at = timezone.now()
            step.save(update_fields=["reminded_at"])
            _notify(
                [step.assignee],
                kind="next_step_due",
                title=f"Étape à faire : suivi {step.situation.reference}",
                body=f"« {step.text} » (échéance {step.due_on:%d/%m/%Y}).",
                url=reverse("followup:my_next_steps"),
            )
        count += 1
    return count


# --- dysfunction reports --------------------------------------------------------------------


def report_create(*, actor: Membership, data: dict, photo=None) -> TechnicalReport:
    structure = actor.structure
    _require_structure_member(actor, structure.pk if structure else None)
    if data["service"].structure_id != structure.pk:
        raise ValidationError({"service": "Ce dispositif relève d'une autre structure."})
    with transaction.atomic():
        report = TechnicalReport(structure=structure, created_by=actor.user, **data)
        organisation = route(
            structure=structure,
            category=report.category,
            commune=report.commune,
            qpv=report.qpv,
            place_type=report.place_type,
        )
        if organisation is not None:
            report.routed_to = organisation
            report.status = ReportStatus.SENT
        if photo is not None:
            report.photo.save(photo.name, photo, save=False)
        report.full_clean()
        report.save()
        audit.record_create(actor=actor, obj=report)
        if organisation is not None:
            _tell_body(report)
    return report


def _tell_body(report: TechnicalReport) -> None:
    _notify(
        organisation_users(report.routed_to_id),
        kind="report_received",
        title=f"Signalement : {report.get_category_display()} à {report.commune.name}",
        body=report.address or "",
        url=reverse("followup:report_detail", args=[report.pk]),
    )


@transaction.atomic
def report_route(*, actor: Membership, report: TechnicalReport, organisation) -> TechnicalReport:
    """The coordination chooses the body for a report no rule covered (or corrects it)."""
    _require_coordinator(actor, report.structure_id)
    if report.status not in (ReportStatus.UNROUTED, ReportStatus.SENT):
        raise ValidationError("Ce signalement a déjà été pris en compte.")
    before = audit.snapshot_fields(report)
    report.routed_to = organisation
    report.status = ReportStatus.SENT
    report.save(update_fields=["routed_to", "status"])
    audit.record_update(actor=actor, obj=report, before=before)
    _tell_body(report)
    return report


@transaction.atomic
def report_answer(*, actor: Membership, report: TechnicalReport, to: str, response: str = ""):
    """The body acknowledges, resolves or rejects (with a comment); the reporter is told."""
    require_role(actor, Role.FUNDER, Role.PARTNER)
    if actor.organisation_id != report.routed_to_id:
        raise PermissionDenied("Ce signalement est adressé à un autre organisme.")
    report = TechnicalReport.objects.select_for_update().get(pk=report.pk)
    if to not in REPORT_TRANSITIONS[report.status]:
        raise TransitionError(
            f"Impossible de passer de « {report.get_status_display()} » à "
            f"« {ReportStatus(to).label} ».",
            code="transition",
        )
    if to == ReportStatus.REJECTED and not response.strip():
        raise ValidationError({"response": "Expliquez pourquoi le signalement est rejeté."})
    before = audit.snapshot_fields(report)
    now = timezone.now()
    report.status = to
    if response.strip():
        report.response = response.strip()
    if to == ReportStatus.ACKNOWLEDGED:
        report.acknowledged_at = now
    else:
        report.acknowledged_at = report.acknowledged_at or now
        report.closed_at = now
    report.full_clean()
    report.save()
    audit.record_update(actor=actor, obj=report, before=before)
    _notify(
        [report.created_by],
        kind="report_answered",
        title=f"Signalement {report.get_status_display().lower()} : "
        f"{report.get_category_display()} à {report.commune.name}",
        body=report.response,
        url=reverse("followup:report_detail", args=[report.pk]),
    )
    return report


@transaction.atomic
def routing_rule_create(*, actor: Membership, data: dict) -> RoutingRule:
    _require_coordinator(actor, actor.structure_id)
    rule = RoutingRule(structure=actor.structure, **data)
    rule.full_clean()
    rule.save()
    audit.record_create(actor=actor, obj=rule)
    return rule


@transaction.atomic
def routing_rule_deactivate(*, actor: Membership, rule: RoutingRule) -> RoutingRule:
    _require_coordinator(actor, rule.structure_id)
    before = audit.snapshot_fields(rule)
    rule.is_active = False
    rule.save(update_fields=["is_active"])
    audit.record_update(actor=actor, obj=rule, before=before)
    return rule


# --- social watch and collective actions ------------------------------------------------------


@transaction.atomic
def observation_create(*, actor: Membership, data: dict, categories=(), shared_with=()):
    structure = actor.structure
    _require_structure_member(actor, structure.pk if structure else None)
    if data["service"].structure_id != structure.pk:
        raise ValidationError({"service": "Ce dispositif relève d'une autre structure."})
    observation = Observation(structure=structure, created_by=actor.user, **data)
    observation.full_clean()
    observation.save()
    observation.categories.set(categories)
    observation.shared_with.set(shared_with)
    audit.record_create(actor=actor, obj=observation)
    if observation.level != "info":
        for organisation in shared_with:
            _notify(
                organisation_users(organisation.pk),
                kind="observation",
                title=f"Veille sociale — {observation.get_level_display()} : "
                f"{observation.sector.name}",
                body=observation.text[:200],
                url=reverse("followup:observation_list") + f"?secteur={observation.sector_id}",
            )
    return observation


def collective_action_save(
    *, actor: Membership, data: dict, partners=(), action: CollectiveAction | None = None
) -> CollectiveAction:
    structure = actor.structure
    _require_structure_member(actor, structure.pk if structure else None)
    if data["service"].structure_id != structure.pk:
        raise ValidationError({"service": "Ce dispositif relève d'une autre structure."})
    if action is not None and action.structure_id != structure.pk:
        raise PermissionDenied("Cette action relève d'une autre structure.")
    with transaction.atomic():
        before = audit.snapshot(action) if action is not None else None
        action = action or CollectiveAction(structure=structure, created_by=actor.user)
        for name, value in data.items():
            setattr(action, name, value)
        action.full_clean()
        action.save()
        action.partners.set(partners)
        if before is None:
            audit.record_create(actor=actor, obj=action)
        else:
            audit.record_update(actor=actor, obj=action, before=before)
    return action


def situations_due_for_purge(today: datetime.date):
    """Situations past their purge date and not anonymised yet: closed ones after the
    structure's retention period, open ones left open two years beyond it."""
    return Situation.objects.filter(purge_on__lte=today).exclude(summary=PURGED)


def situations_purge(*, today=None) -> int:
    """Situations past their purge date are anonymised: names, contact, summary, parties'
    labels and texts of steps and agreements erased; the counts stay."""
    today = today or timezone.localdate()
    due = situations_due_for_purge(today)
    count = 0
    for situation in due:
        with transaction.atomic():
            situation.names = ""
            situation.contact = ""
            situation.is_nominative = False
            situation.summary = PURGED
            situation.summary_warnings = []
            situation.save()
            situation.parties.update(label=PURGED)
            situation.next_steps.update(text=PURGED)
            situation.agreements.update(text=PURGED)
            audit.record(
                action=AuditAction.UPDATE,
                obj=situation,
                note=f"Purge planifiée du {situation.purge_on:%d/%m/%Y} : suivi anonymisé",
            )
        count += 1
    return count


PURGED = "[purgé]"
CALLBACK_KEPT_DAYS = 30


def referrals_callbacks_due(today: datetime.date):
    """Referrals closed more than CALLBACK_KEPT_DAYS ago that still hold call-back details."""
    return Referral.objects.exclude(callback="").filter(
        closed_at__lt=cutoff(today, CALLBACK_KEPT_DAYS)
    )


def referrals_forget_callbacks(*, today=None) -> int:
    """How to call a person back is kept only while the referral may need it: erased 30 days
    after the referral closed (answered, done, refused or expired)."""
    today = today or timezone.localdate()
    due = referrals_callbacks_due(today)
    count = 0
    for referral in due:
        with transaction.atomic():
            referral.callback = ""
            referral.save(update_fields=["callback"])
            audit.record(
                action=AuditAction.UPDATE,
                obj=referral,
                note="Coordonnées de rappel effacées 30 jours après la clôture",
            )
        count += 1
    return count
