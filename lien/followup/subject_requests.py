"""Data-subject requests (RGPD articles 15 and 17): find every record of a structure
linked to a person's pseudonym, export them, erase or anonymise them.

Interventions are non-nominative and stay as counted facts; what identifies a person
lives in situations (pseudonym, names, contact, parties, steps, agreements) and referrals
(pseudonym, call-back details, request). Erasure anonymises those texts and keeps the
rows, so that indicators do not change. Every step is journaled, the search included.
"""

import datetime
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from lien.core import audit
from lien.core.models import AuditAction, Membership, Role
from lien.core.permissions import require_role
from lien.followup.models import Party, Referral, Situation

ERASED = "[effacé]"
MIN_TERM_LENGTH = 2
MAX_TERM_LENGTH = 100


@dataclass
class SubjectRecords:
    term: str
    situations: list[Situation] = field(default_factory=list)
    referrals: list[Referral] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.situations) + len(self.referrals)


def clean_term(term: str) -> str:
    if "\x00" in (term or ""):
        raise ValidationError({"term": "Caractère invalide (octet nul) dans la recherche."})
    term = " ".join((term or "").split())
    if len(term) < MIN_TERM_LENGTH:
        raise ValidationError(
            {
                "term": f"Saisissez au moins {MIN_TERM_LENGTH} caractères (pseudonyme, initiales, "
                "nom ou référence du suivi)."
            }
        )
    if len(term) > MAX_TERM_LENGTH:
        raise ValidationError({"term": f"{MAX_TERM_LENGTH} caractères au plus."})
    return term


def find_records(*, actor: Membership, term: str, ip_address=None) -> SubjectRecords:
    """Every situation and referral of the actor's structure that names `term`: exact
    pseudonym, initials or reference; names, contact or call-back details containing it;
    and the referrals of the situations found."""
    require_role(actor, Role.COORDINATOR)
    term = clean_term(term)
    structure_id = actor.structure_id
    party_situations = Party.objects.filter(label__iexact=term).values("situation_id")
    situations = list(
        Situation.objects.filter(structure_id=structure_id)
        .filter(
            Q(initials__iexact=term)
            | Q(reference__iexact=term)
            | Q(names__icontains=term)
            | Q(contact__icontains=term)
            | Q(pk__in=party_situations)
        )
        .select_related("service")
        .prefetch_related("parties", "next_steps", "agreements", "meetings__intervention")
        .order_by("opened_on", "reference")
    )
    referrals = list(
        Referral.objects.filter(structure_id=structure_id)
        .filter(
            Q(person__iexact=term)
            | Q(callback__icontains=term)
            | Q(situation__in=[s.pk for s in situations])
        )
        .select_related("partner", "theme", "situation")
        .order_by("sent_at")
    )
    records = SubjectRecords(term=term, situations=situations, referrals=referrals)
    with transaction.atomic():
        # The search itself shows nominative data: journal it, and each record shown.
        events = [
            audit.build_event(
                action=AuditAction.READ,
                actor=actor,
                obj=record,
                note="demande de droits : recherche",
                ip_address=ip_address,
            )
            for record in [*situations, *referrals]
        ]
        events.append(
            audit.build_event(
                action=AuditAction.READ,
                actor=actor,
                structure_id=structure_id,
                note=f"demande de droits : {records.count} enregistrement(s) trouvés",
                ip_address=ip_address,
            )
        )
        audit.record_many(events)
    return records


def _date(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).isoformat(timespec="minutes")
    return value.isoformat()


def _situation_data(situation: Situation) -> dict:
    return {
        "reference": situation.reference,
        "type": situation.get_kind_display(),
        "dispositif": situation.service.name,
        "pseudonyme": situation.initials,
        "objet": situation.summary,
        "nominatif": situation.is_nominative,
        "noms": situation.names,
        "coordonnees": situation.contact,
        "consentement_le": _date(situation.consent_on),
        "portee_du_consentement": situation.get_consent_scope_display(),
        "consentement_retire_le": _date(situation.consent_withdrawn_on),
        "etat": situation.get_status_display(),
        "ouvert_le": _date(situation.opened_on),
        "clos_le": _date(situation.closed_on),
        "purge_prevue_le": _date(situation.purge_on),
        "parties": [
            {"role": p.get_role_display(), "designation": p.label} for p in situation.parties.all()
        ],
        "prochaines_etapes": [
            {"texte": s.text, "echeance": _date(s.due_on), "faite_le": _date(s.done_on)}
            for s in situation.next_steps.all()
        ],
        "accords": [
            {"texte": a.text, "conclu_le": _date(a.agreed_on), "tenu": a.held}
            for a in situation.agreements.all()
        ],
        "rencontres": [_date(m.intervention.started_at) for m in situation.meetings.all()],
    }


def _referral_data(referral: Referral) -> dict:
    return {
        "partenaire": str(referral.partner),
        "theme": str(referral.theme),
        "suivi": referral.situation.reference if referral.situation_id else None,
        "personne": referral.person,
        "demande": referral.request,
        "recontact": referral.callback,
        "accord_pour_recontact": referral.callback_consent,
        "etat": referral.get_status_display(),
        "envoyee_le": _date(referral.sent_at),
        "reponse_le": _date(referral.answered_at),
        "resultat": referral.get_result_display(),
        "commentaire_du_partenaire": referral.result_note,
    }


def export_records(*, actor: Membership, term: str, ip_address=None) -> dict:
    """What the structure holds about the person, as a plain document (right of access)."""
    records = find_records(actor=actor, term=term, ip_address=ip_address)
    with transaction.atomic():
        audit.record_many(
            [
                audit.build_event(
                    action=AuditAction.EXPORT,
                    actor=actor,
                    obj=record,
                    note="demande de droits : export",
                    ip_address=ip_address,
                )
                for record in [*records.situations, *records.referrals]
            ]
        )
    return {
        "structure": str(actor.structure),
        "recherche": records.term,
        "exporte_le": timezone.localtime().isoformat(timespec="seconds"),
        "suivis": [_situation_data(s) for s in records.situations],
        "mises_en_relation": [_referral_data(r) for r in records.referrals],
        "interventions": (
            "Les interventions sont enregistrées sans nom : seules celles liées à un suivi "
            "(« rencontres ») se rapportent à la personne."
        ),
    }


@transaction.atomic
def erase_records(*, actor: Membership, term: str, ip_address=None) -> SubjectRecords:
    """Anonymise every record found for `term` (right to erasure, or consent withdrawn):
    pseudonyms, names, contact, free texts erased; dates, categories and counts kept."""
    records = find_records(actor=actor, term=term, ip_address=ip_address)
    today = timezone.localdate()
    for situation in records.situations:
        was_nominative = situation.is_nominative
        situation.initials = ERASED
        situation.names = ""
        situation.contact = ""
        situation.summary = ERASED
        situation.summary_warnings = []
        situation.is_nominative = False
        if was_nominative and situation.consent_withdrawn_on is None:
            situation.consent_withdrawn_on = today
        situation.updated_at = timezone.now()
        situation.save()
        situation.parties.update(label=ERASED)
        situation.next_steps.update(text=ERASED)
        situation.agreements.update(text=ERASED)
    for referral in records.referrals:
        referral.person = ERASED
        referral.callback = ""
        referral.request = ERASED
        referral.request_warnings = []
        referral.result_note = ERASED if referral.result_note else ""
        referral.save(
            update_fields=["person", "callback", "request", "request_warnings", "result_note"]
        )
    audit.record_many(
        [
            audit.build_event(
                action=AuditAction.ERASE,
                actor=actor,
                obj=record,
                note="demande de droits : données de la personne effacées",
                ip_address=ip_address,
            )
            for record in [*records.situations, *records.referrals]
        ]
    )
    return records
