"""Follow-up records for the demonstration: situations, referrals in every state, routing
rules, dysfunction reports in the funder's queue, social watch, collective actions.

All written through the follow-up services (so journaled and notified like real ones), for
the fixed demo accounts of "Trait d'Union Médiation" (Roubaix). Re-running adds nothing.
"""

import datetime

from django.db import transaction
from django.utils import timezone

from lien.core.models import Membership, Role
from lien.demo.builder import demo_email
from lien.followup import services
from lien.followup.models import ReferralResult, ReferralStatus, ReportStatus, Situation
from lien.referentiel.models import Domain, Outcome, PlaceType, RequestTheme, SituationCategory
from lien.structures.models import Organisation
from lien.territories.models import Level, Territory


def _member(local: str, role: str) -> Membership:
    return Membership.objects.select_related("structure", "organisation", "user").get(
        user__email=demo_email(local), role=role
    )


def _t(code: str, level: str = Level.COMMUNE) -> Territory:
    return Territory.objects.get(level=level, code=code)


def _org(name_start: str) -> Organisation:
    return Organisation.objects.filter(name__startswith=name_start).order_by("name").first()


@transaction.atomic
def demo_followup() -> int:
    """Create the follow-up demo records once; returns how many situations were created."""
    mediator = _member("mediateur", Role.MEDIATOR)
    coordinator = _member("coordination", Role.COORDINATOR)
    partner = _member("partenaire", Role.PARTNER)
    funder = _member("financeur", Role.FUNDER)
    structure = mediator.structure
    if Situation.objects.filter(structure=structure).exists():
        return 0
    service = structure.services.order_by("name").last()  # "Médiation sociale de proximité"
    roubaix, qpv = _t("59512"), _t("QX05951A", Level.QPV)
    habitat = Domain.objects.get(code="habitat-social")
    rights = Domain.objects.get(code="services-publics")
    today = timezone.localdate()
    landlord = _org("Logis du Nord")
    cpam, france_travail = _org("CPAM"), _org("France Travail")

    # Routing rules: the MEL for public space in Roubaix, the landlord for its buildings.
    services.routing_rule_create(
        actor=coordinator,
        data={"category": "", "territory": _t("200093201", Level.EPCI), "place_type": None,
              "organisation": funder.organisation},
    )  # fmt: skip
    for place in ("hall-immeuble", "logement"):
        services.routing_rule_create(
            actor=coordinator,
            data={"category": "", "territory": qpv, "organisation": landlord,
                  "place_type": PlaceType.objects.get(code=place)},
        )  # fmt: skip

    # Situations: a neighbours' conflict followed over weeks, an accompaniment to rights.
    conflict = services.situation_create(
        actor=mediator,
        data={"service": service, "kind": "deferred", "initials": "Voisins bât. C",
              "domain": habitat, "commune": roubaix, "qpv": qpv,
              "category": SituationCategory.objects.get(code="conflit-voisinage"),
              "summary": "Bruits nocturnes entre deux logements du bâtiment C ; tension "
                         "montante, demande de médiation du locataire du 3e.",
              "opened_on": today - datetime.timedelta(days=40)},
        parties=[{"role": "requester", "label": "Locataire du 3e"},
                 {"role": "other", "label": "Locataire du 2e"},
                 {"role": "institution", "label": "Bailleur (gardien)"}],
    )  # fmt: skip
    services.next_step_add(
        actor=mediator, situation=conflict, text="Table ronde avec le gardien",
        due_on=today + datetime.timedelta(days=3), assignee=mediator.user,
    )  # fmt: skip
    services.next_step_add(
        actor=mediator, situation=conflict, text="Rappeler le locataire du 2e",
        due_on=today - datetime.timedelta(days=1), assignee=mediator.user,
    )  # fmt: skip
    services.agreement_add(
        actor=mediator, situation=conflict, text="Pas de musique après 22 h en semaine",
        agreed_on=today - datetime.timedelta(days=20), review_on=today - datetime.timedelta(days=5),
    )  # fmt: skip
    agreement = conflict.agreements.get()
    services.agreement_review(actor=mediator, agreement=agreement, held=True)

    accompaniment = services.situation_create(
        actor=mediator,
        data={"service": service, "kind": "rights", "initials": "Mme K.", "domain": rights,
              "commune": roubaix, "qpv": qpv,
              "category": SituationCategory.objects.get(code="acces-droits"),
              "summary": "Dossier de prestations familiales interrompu ; accompagnement vers "
                         "la CAF et la CPAM.",
              "is_nominative": True, "names": "Mme Karima K. (démonstration)",
              "contact": "06 00 00 00 00 (démonstration)", "consent_on": today,
              "consent_scope": "share"},
    )  # fmt: skip
    closed = services.situation_create(
        actor=mediator,
        data={"service": service, "kind": "deferred", "initials": "Jeunes du square",
              "domain": Domain.objects.get(code="espaces-publics"), "commune": roubaix,
              "summary": "Conflit d'usage du square entre jeunes et riverains.",
              "opened_on": today - datetime.timedelta(days=90)},
    )  # fmt: skip
    services.situation_close(
        actor=coordinator, situation=closed, outcome=Outcome.objects.get(code="accord-obtenu"),
        closed_on=today - datetime.timedelta(days=30),
    )  # fmt: skip

    # Referrals in each state (to the CAF, whose demo partner answers from its account).
    caf = partner.organisation
    theme = RequestTheme.objects.get(code="prestations-sociales")
    plan = [
        (caf, "Mme K.", ReferralStatus.SENT, "", accompaniment),
        (caf, "M. B.", ReferralStatus.SEEN, "", None),
        (caf, "Mme L.", ReferralStatus.ACCEPTED, "", None),
        (caf, "M. T.", ReferralStatus.REFUSED, "Dossier relevant de la MSA.", None),
        (caf, "Mme D.", ReferralStatus.DONE, ReferralResult.SOLVED, None),
        (cpam, "Mme K.", ReferralStatus.DONE, ReferralResult.PARTLY, accompaniment),
        (france_travail, "M. R.", ReferralStatus.EXPIRED, "", None),
    ]
    for organisation, person, status, detail, situation in plan:
        referral = services.referral_create(
            actor=mediator,
            data={"service": service, "partner": organisation, "theme": theme,
                  "commune": roubaix, "person": person, "situation": situation,
                  "request": "Demande en attente depuis plusieurs semaines ; pièces fournies."},
        )  # fmt: skip
        answer = partner if organisation == caf else None
        if status == ReferralStatus.SEEN:
            services.referral_mark_seen(actor=answer, referral=referral, via_link=answer is None)
        if status in (ReferralStatus.ACCEPTED, ReferralStatus.DONE):
            services.referral_answer(actor=answer, referral=referral, to=ReferralStatus.ACCEPTED,
                                     via_link=answer is None)  # fmt: skip
        if status == ReferralStatus.DONE:
            services.referral_answer(actor=answer, referral=referral, to=ReferralStatus.DONE,
                                     result=detail, via_link=answer is None)  # fmt: skip
        if status == ReferralStatus.REFUSED:
            services.referral_answer(actor=answer, referral=referral, to=ReferralStatus.REFUSED,
                                     refusal_reason=detail, via_link=answer is None)  # fmt: skip
        if status == ReferralStatus.EXPIRED:
            referral.expires_on = today - datetime.timedelta(days=1)
            referral.save(update_fields=["expires_on"])
            services.referrals_expire(today=today)

    # Dysfunction reports: in the MEL's queue (the demo funder) and the landlord's.
    reports = [
        ("lighting", None, "Allée des Tilleuls", "Trois lampadaires éteints depuis une semaine."),
        ("bulky", None, "Angle rue de Lannoy", "Dépôt d'encombrants sur le trottoir."),
        ("lift", "hall-immeuble", "Bâtiment C, hall 2", "Ascenseur en panne, personnes âgées "
                                                        "bloquées au 6e."),
        ("green", None, "Square Pierre de Roubaix", "Jeux pour enfants dégradés."),
        ("roads", None, "Rue de l'Épeule", "Nid-de-poule dangereux devant l'école."),
    ]  # fmt: skip
    created = []
    for category, place, address, description in reports:
        created.append(
            services.report_create(
                actor=mediator,
                data={
                    "service": service,
                    "category": category,
                    "commune": roubaix,
                    "qpv": qpv,
                    "place_type": PlaceType.objects.get(code=place) if place else None,
                    "address": address,
                    "description": description,
                },
            )
        )
    services.report_answer(actor=funder, report=created[0], to=ReportStatus.ACKNOWLEDGED,
                           response="Signalé au service éclairage.")  # fmt: skip
    services.report_answer(actor=funder, report=created[1], to=ReportStatus.RESOLVED,
                           response="Enlèvement fait le lendemain.")  # fmt: skip

    # Social watch and collective actions.
    notes = [
        (qpv, "info", "Fête de quartier bien suivie, ambiance apaisée."),
        (qpv, "vigilance", "Regroupements tardifs en hausse près du city-stade."),
        (roubaix, "alerte", "Tensions entre deux groupes de jeunes après un match ; vigilance "
                            "demandée aux partenaires ce week-end."),
    ]  # fmt: skip
    for index, (sector, level, text) in enumerate(notes):
        services.observation_create(
            actor=mediator,
            data={"service": service, "sector": sector, "level": level, "text": text,
                  "observed_on": today - datetime.timedelta(days=14 - 6 * index)},
            shared_with=[funder.organisation, caf] if level != "info" else [],
        )  # fmt: skip
    for kind, title, residents, young in (
        ("awareness", "Atelier « bien vivre ensemble » au centre social", 18, 6),
        ("consultation", "Réunion habitants–bailleur sur la propreté des halls", 25, 0),
        ("cultural", "Café des langues à la médiathèque", 12, 4),
    ):
        services.collective_action_save(
            actor=mediator,
            data={"service": service, "kind": kind, "title": title,
                  "held_on": today - datetime.timedelta(days=10), "duration_minutes": 120,
                  "commune": roubaix, "qpv": qpv, "place": "", "residents": residents,
                  "young_people": young, "professionals": 3, "institutions": 1, "notes": ""},
            partners=[caf],
        )  # fmt: skip
    return 3
