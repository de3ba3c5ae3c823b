"""Bad input on every form: a clear error every time, never a 5xx, and nothing stored.

Every registered route is classified below (a route added later fails
`test_every_route_is_classified` until it is). For each form route, the test opens the page
as the role allowed to use it, reads the form's fields from the HTML, then posts a valid
payload (`baseline`) in which one field at a time carries a bad value: 10,000 characters,
a tag, a null byte, a wrong type, an out-of-range number, an SQL fragment. The answer must
be the form again with an error on that field (or a refusal), and no row of any table of
Lien's apps may change. The baseline alone is stored (`test_baseline_is_accepted`), so the
refusals are the bad value's doing. SQL fragments are ordinary text in free-text fields
(the ORM passes values as parameters): there they are stored verbatim and no table is
harmed; in typed fields they are refused.

Pages with a GET filter form get the same values in their query string, the offline sync
endpoint gets them in JSON, the photo upload gets files that are not images and
path-traversal names, and every URL parameter gets values of the wrong shape.
"""

import datetime
import html
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest
from django import forms
from django.apps import apps
from django.contrib.auth.forms import UsernameField
from django.contrib.messages import constants as message_levels
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from PIL import Image

from lien.core.models import AuditAction, AuditEvent, Membership, Role, User
from lien.core.validators import reject_markup
from lien.followup import links
from lien.followup.models import Referral, TechnicalReport
from lien.logbook import services as logbook_services
from lien.logbook.forms import InterventionForm
from lien.referentiel.models import (
    ContractType,
    Domain,
    FundingProgram,
    Outcome,
    ProjectStage,
    RequestTheme,
)
from lien.referentiel.services import referentiel_load
from lien.structures.models import OrganisationKind
from tests.evaluation.factories import make_evaluation  # evaluation
from tests.factories import OrganisationFactory, ServiceFactory, make_membership, make_territories
from tests.jobs.factories import make_jobs
from tests.steering.factories import make_steering
from tests.test_permission_matrix import (
    _PARAM,
    iter_routes,
    make_followup,
    make_import_job,
    make_notification,
    make_shift,
    make_structure_export,
)

# --- the bad values ------------------------------------------------------------------------

LONG = "x" * 10_000
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
NUL = "a\x00b"
SQL_OR = "' OR 1=1 --"
SQL_DROP = "1; DROP TABLE core_user; --"

#: Refused by every field.
ALWAYS_BAD = {"long": LONG, "script": SCRIPT, "img": IMG, "nul": NUL}
#: Wrong types: refused by typed fields (numbers, dates, choices, ids, codes), text elsewhere.
WRONG_TYPES = {
    "abc": "abc",
    "bad-date": "2026-13-45",
    "minus-one": "-1",
    "1e309": "1e309",
    "huge": "99999999999999999999",
}
SQL = {"sql-or": SQL_OR, "sql-drop": SQL_DROP}
EVERY_BAD = {**ALWAYS_BAD, **WRONG_TYPES, **SQL}

MARKUP_MESSAGE = "ne peut pas contenir de balises HTML"


# --- the world: one structure with one of each record ---------------------------------------


@pytest.fixture
def world(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    referentiel_load()
    territories = make_territories()
    service = ServiceFactory(name="Médiation de proximité")
    service.territories.set([territories["mel"]])
    structure = service.structure
    caf = OrganisationFactory(
        name="CAF du Nord", kind=OrganisationKind.PARTNER, contact_email="accueil@caf.example"
    )
    landlord = OrganisationFactory(name="Bailleur Habitat", kind=OrganisationKind.FUNDER)
    service.commissioning_bodies.add(landlord)
    actors = {
        "mediator": make_membership(Role.MEDIATOR, structure=structure),
        "mediator2": make_membership(Role.MEDIATOR, structure=structure),
        "coordinator": make_membership(Role.COORDINATOR, structure=structure),
        "partner": make_membership(Role.PARTNER, organisation=caf),
        "funder": make_membership(Role.FUNDER, organisation=landlord),
        "steering": make_membership(Role.STEERING, territory=territories["region"]),
    }
    # The mediator also coordinates another structure: the header offers the switch.
    actors["other_membership"] = make_membership(
        Role.COORDINATOR, user=actors["mediator"].user, structure=ServiceFactory().structure
    )
    objects = make_followup(service, partner=caf, body=landlord)
    objects.update(
        service=service,
        structure=structure,
        shift=make_shift(service),
        notification=make_notification(actors["mediator"].user),
        team=actors["mediator2"],
    )
    objects.update(make_jobs(service, funder=landlord))
    objects.update(make_evaluation(service))  # evaluation, avoided_cost, survey, survey_token
    objects.update(make_steering(territories["region"], service=service, funder=landlord))
    objects["import"] = make_import_job(actors["coordinator"])  # imports (exchange)
    world = {
        "territories": territories,
        "service": service,
        "structure": structure,
        "caf": caf,
        "landlord": landlord,
        "actors": actors,
        "objects": objects,
    }
    form = InterventionForm(
        intervention_post(world), structure=structure, author=actors["mediator"].user
    )
    assert form.is_valid(), form.errors
    objects["intervention"] = logbook_services.intervention_create(
        actor=actors["mediator"], data=form.intervention_data()
    )
    objects["structure_export"] = make_structure_export(actors["coordinator"])  # exports
    return world


def _local_now(**delta) -> datetime.datetime:
    return timezone.localtime() + datetime.timedelta(**delta)


def intervention_post(world) -> dict:
    return {
        "service": str(world["service"].pk),
        "started_at": _local_now(hours=-1).strftime("%Y-%m-%dT%H:%M"),
        "duration_minutes": "20",
        "commune": "59512",
        "qpv": "QX05901D",
        "place_type": "hall-immeuble",
        "activity_type": "gestion-conflits",
        "domain": "habitat-social",
        "situation_category": "nuisances-sonores",
        "origin": "resident",
        "timing": "real_time",
        "form": "individual",
        "people_met": "2",
        "outcome": "apaise-resolu",
        "emergency_handoff": "",
        "mediators": [str(world["actors"]["mediator2"].user_id)],
        "shift": "",
        "note": "Échange calme dans le hall.",
    }


def intervention_edit_post(world) -> dict:
    intervention = world["objects"]["intervention"]
    intervention.refresh_from_db()
    return {**intervention_post(world), "version": str(intervention.version)}


def shift_post(world) -> dict:
    return {
        "kind": "patrol",
        "service": str(world["service"].pk),
        "starts_at": _local_now(days=1).strftime("%Y-%m-%dT10:00"),
        "ends_at": _local_now(days=1).strftime("%Y-%m-%dT12:00"),
        "commune": "59512",
        "qpv": "",
        "place_type": "",
        "place_label": "Place du marché",
        "mediators": [str(world["actors"]["mediator"].user_id)],
        "note": "",
    }


def structure_post(world) -> dict:
    return {
        "name": "Structure de médiation",
        "network": "France Médiation",
        "address": "1 rue de la Gare, Roubaix",
        "afnor_status": "none",
        "afnor_certified_on": "",
        "afnor_next_audit_on": "",
        "correction_window_days": "7",
        "referral_expiry_days": "30",
        "situation_retention_months": "12",
    }


def service_post(world) -> dict:
    return {
        "name": "Nouveau dispositif",
        "domains": [str(Domain.objects.get(code="habitat-social").pk)],
        "territories": "59512",
        "commissioning_bodies": [str(world["landlord"].pk)],
        "objectives": "Apaiser les halls.",
        "stage": str(ProjectStage.objects.active().first().pk),
        "starts_on": "2025-01-01",
        "ends_on": "",
        "is_active": "on",
    }


def situation_post(world, *, editing=False) -> dict:
    data = {
        "service": str(world["service"].pk),
        "kind": "deferred",
        "initials": "M. D.",
        "domain": str(Domain.objects.get(code="habitat-social").pk),
        "category": "",
        "commune": "59512",
        "qpv": "",
        "summary": "Conflit de voisinage autour du bruit.",
        "parties": "voisin du 2e\nbailleur",
        "names": "",
        "contact": "",
        "consent_on": "",
        "consent_scope": "",
    }
    if editing:
        del data["parties"]
    return data


def referral_post(world) -> dict:
    return {
        "service": str(world["service"].pk),
        "partner": str(world["caf"].pk),
        "theme": str(RequestTheme.objects.active().first().pk),
        "commune": "59512",
        "person": "M. D.",
        "request": "Aide pour un dossier d'aide au logement.",
        "callback": "",
        "suivi": str(world["objects"]["situation"].pk),
    }


def report_post(world) -> dict:
    return {
        "service": str(world["service"].pk),
        "category": "lighting",
        "commune": "59512",
        "qpv": "",
        "place_type": "",
        "address": "12 rue de Lille, hall B",
        "latitude": "50.69",
        "longitude": "3.18",
        "description": "Lampadaire éteint devant le hall.",
        "not_duplicate": "on",
    }


def observation_post(world) -> dict:
    return {
        "service": str(world["service"].pk),
        "sector": str(world["territories"]["roubaix"].pk),
        "observed_on": timezone.localdate().isoformat(),
        "level": "info",
        "categories": [],
        "text": "Climat calme ce soir sur la place.",
        "shared_with": [],
    }


def collective_action_post(world) -> dict:
    return {
        "service": str(world["service"].pk),
        "kind": "awareness",
        "title": "Atelier voisinage",
        "held_on": timezone.localdate().isoformat(),
        "duration_minutes": "120",
        "commune": "59512",
        "qpv": "",
        "place": "Maison de quartier",
        "residents": "3",
        "young_people": "0",
        "professionals": "0",
        "institutions": "0",
        "partners": [],
        "notes": "",
    }


def post_post(world) -> dict:
    return {
        "title": "Correspondant·e de nuit",
        "rome_code": "K1204",
        "service": str(world["service"].pk),
        "fte": "0.8",
        "status": "open",
    }


def post_shares_post(world) -> dict:
    other = world["actors"]["other_membership"].structure
    data = {"siret_1": world["structure"].siret, "share_1": "60", "siret_2": other.siret,
            "share_2": "40"}  # fmt: skip
    for row in (3, 4, 5):
        data.update({f"siret_{row}": "", f"share_{row}": ""})
    return data


def mediator_post(world) -> dict:
    return {
        "first_name": "Sam",
        "last_name": "Martin",
        "user": "",
        "birth_year": "1990",
        "qualification_level": "level_4",
    }


def contract_post(world) -> dict:
    return {
        "mediator": str(world["objects"]["mediator"].pk),
        "contract_type": str(ContractType.objects.get(code="cdi").pk),
        "starts_on": timezone.localdate().isoformat(),
        "ends_on": "",
        "fte": "1",
        "agreement_starts_on": "",
        "agreement_ends_on": "",
        "end_reason": "",
        "exit_outcome": "",
    }


def funding_post(world) -> dict:
    return {
        "funder": str(world["landlord"].pk),
        "program": str(FundingProgram.objects.active().first().pk),
        "amount": "25000",
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-31",
        "post": str(world["objects"]["post"].pk),
        "service": "",
        "stage": str(ProjectStage.objects.active().first().pk),
        "share": "",
    }


def training_post(world) -> dict:
    return {
        "mediator": str(world["objects"]["mediator"].pk),
        "kind": "qualifying",
        "title": "Titre professionnel de médiateur social",
        "body": "AFPA",
        "hours": "420",
        "starts_on": "2026-01-05",
        "ends_on": "2026-06-30",
        "qualification_obtained": "",
    }


def practice_review_post(world) -> dict:
    return {
        "held_on": timezone.localdate().isoformat(),
        "facilitator": "Psychologue du travail",
        "duration_minutes": "120",
        "attendees": [str(world["objects"]["mediator"].pk)],
    }


# Evaluation of social utility (lien/evaluation).
def evaluation_post(world) -> dict:
    return {"service": str(world["service"].pk), "starts_on": "2024-01-01", "ends_on": "2024-06-30"}


def evaluation_edit_post(world) -> dict:
    return {"starts_on": "2023-01-01", "ends_on": "2023-12-31", "state": "draft"}


def evaluation_assess_post(world) -> dict:
    from lien.referentiel.models import UtilityRegister

    data = {}
    for code in UtilityRegister.objects.values_list("code", flat=True):
        data[f"level_{code}"] = "3"
        data[f"evidence_{code}"] = "Réunions de quartier régulières avec le bailleur."
    return data


def avoided_cost_post(world) -> dict:
    from lien.referentiel.models import UtilityRegister

    register = UtilityRegister.objects.get(code="contribution-economique")
    return {
        "register": str(register.pk),
        "label": "Dégradations évitées",
        "unit_cost": "150",
        "indicator": "",
        "manual_quantity": "4",
        "assumptions": "Coût moyen d'une réparation déclaré par le bailleur (2024).",
    }


def survey_post(world) -> dict:
    return {
        "service": str(world["service"].pk),
        "audience": "partners",
        "title": "Enquête partenaires",
        "opens_on": "2024-01-01",
        "closes_on": "2024-02-01",
    }


def survey_answer_post(world) -> dict:
    answers = dict.fromkeys(("q_cohesion", "q_tranquillity", "q_innovation", "q_recognition"), "4")
    return {**answers, "comment": "Présence appréciée le soir."}


# --- steering (lien/steering) ----------------------------------------------------------------


def framework_post(world) -> dict:
    return {
        "title": "Convention régionale",
        "territory": "32",
        "starts_on": "2026-01-01",
        "ends_on": "2028-12-31",
        "job_target": "300",
        "signatories": [str(world["landlord"].pk)],
        "other_signatories": "Union régionale",
        "objectives": "Consolider les emplois.",
    }


def experiment_post(world) -> dict:
    return {
        "name": "Emplois mutualisés",
        "site": "Quartier de l'Alma",
        "territory": "59512",
        "pooling_model": "employers_group",
        "structures": [],
        "funders": [str(world["landlord"].pk)],
        "stage": str(ProjectStage.objects.active().first().pk),
        "status": "running",
        "starts_on": "2026-01-01",
        "ends_on": "",
        "notes": "",
    }


def meeting_post(world) -> dict:
    return {
        "held_on": "2026-06-15",
        "kind": "steering",
        "participants": [str(world["landlord"].pk)],
        "other_participants": "Mission d'appui",
        "summary": "Point d'étape.",
    }


def decision_post(world) -> dict:
    return {
        "text": "Étudier un groupement d'employeurs",
        "owner": "Mission d'appui",
        "due_on": "2026-12-31",
        "status": "open",
        "follow_up": "",
    }


def biannual_post(world) -> dict:
    return {
        "year": "2026",
        "semester": "1",
        "territory": "59",
        "agreement": str(world["objects"]["framework"].pk),
    }


def _reopen_referral(world) -> None:
    """An accepted answer moved the referral on: the next case answers it afresh."""
    Referral.objects.filter(pk=world["objects"]["referral"].pk).update(status="sent")


# --- the routes -------------------------------------------------------------------------------


@dataclass
class FormRoute:
    """A route that takes a form by POST, who may use it, and a payload it accepts."""

    name: str
    actor: str | None  # key of world["actors"]; None: anonymous
    baseline: Callable[[dict], dict] | None  # None: no valid payload (other team's form)
    page: str | None = None  # where the form is shown, when it is not the route itself
    page_query: Callable[[dict], str] = lambda world: ""
    #: The route answers with errors that do not name a field (e.g. a failed login).
    field_errors: bool = True
    #: Fields whose free text this project does not screen for markup (not ours to change).
    markup_exempt: frozenset = frozenset()
    #: Audit actions a refused submission may still journal (a failed login is journaled).
    journaled: frozenset = frozenset()
    #: Fields naming where to go next: a bad value is replaced by a page of this site.
    redirect_fields: frozenset = frozenset()
    #: Puts the record back in the state the baseline expects, after an accepted case.
    reset: Callable[[dict], None] = lambda world: None
    #: Only these fields get bad values (the others are the same form on another route).
    only: frozenset | None = None


NEW_PASSWORD = "Tournée du soir 2026 !"


def _totp_setup_post(world) -> dict:
    """A right code for the authenticator the set-up page has just created."""
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.get(user=world["actors"]["mediator"].user, confirmed=False)
    return {"token": f"{totp(device.bin_key, step=device.step, t0=device.t0):06d}", "next": ""}


FORM_ROUTES = [
    FormRoute("logbook:log_intervention", "mediator", intervention_post),
    FormRoute(
        "logbook:intervention_edit",
        "mediator",
        intervention_edit_post,
        only=frozenset({"version", "note", "started_at", "mediators", "commune", "service"}),
    ),
    FormRoute("logbook:shift_create", "coordinator", shift_post),
    FormRoute("logbook:shift_edit", "coordinator", shift_post),
    FormRoute("structures:structure_edit", "coordinator", structure_post),
    FormRoute("structures:service_create", "coordinator", service_post),
    FormRoute("structures:service_edit", "coordinator", service_post),
    FormRoute("followup:situation_create", "mediator", situation_post),
    FormRoute("followup:situation_edit", "mediator", lambda w: situation_post(w, editing=True)),
    FormRoute(
        "followup:situation_close",
        "mediator",
        lambda w: {
            "close-outcome": str(Outcome.objects.active().first().pk),
            "close-closed_on": timezone.localdate().isoformat(),
        },
        page="followup:situation_detail",
    ),
    FormRoute(
        "followup:situation_party",
        "mediator",
        lambda w: {"party-role": "other", "party-label": "gardien de l'immeuble"},
        page="followup:situation_detail",
    ),
    FormRoute(
        "followup:situation_step",
        "mediator",
        lambda w: {
            "step-text": "Appeler le bailleur",
            "step-due_on": timezone.localdate().isoformat(),
            "step-assignee": str(w["actors"]["mediator"].user_id),
        },
        page="followup:situation_detail",
    ),
    FormRoute(
        "followup:situation_agreement",
        "mediator",
        lambda w: {
            "agreement-text": "Pas de bruit après 22 h",
            "agreement-agreed_on": timezone.localdate().isoformat(),
            "agreement-review_on": (timezone.localdate() + datetime.timedelta(30)).isoformat(),
        },
        page="followup:situation_detail",
    ),
    FormRoute(
        "followup:situation_meeting",
        "mediator",
        lambda w: {
            "meeting-started_at": _local_now(hours=-2).strftime("%Y-%m-%dT%H:%M"),
            "meeting-duration_minutes": "45",
            "meeting-form": "shuttle",
            "meeting-people_met": "2",
            "meeting-outcome": "",
            "meeting-note": "Rencontre dans le calme.",
        },
        page="followup:situation_detail",
    ),
    FormRoute(
        "followup:agreement_review",
        "mediator",
        lambda w: {"review-held": "1"},
        page="followup:situation_detail",
    ),
    FormRoute(
        "followup:referral_create",
        "mediator",
        referral_post,
        page_query=lambda w: "?" + urlencode({"suivi": w["objects"]["situation"].pk}),
    ),
    FormRoute(
        "followup:referral_detail",
        "partner",
        lambda w: {"status": "accepted", "refusal_reason": "", "result": "", "result_note": ""},
        reset=lambda w: _reopen_referral(w),
    ),
    FormRoute(
        "followup:referral_link",
        None,
        lambda w: {"status": "accepted", "refusal_reason": "", "result": "", "result_note": ""},
        reset=lambda w: _reopen_referral(w),
    ),
    FormRoute("followup:report_create", "mediator", report_post),
    FormRoute(
        "followup:report_detail",
        "funder",
        lambda w: {"status": "acknowledged", "response": ""},
        reset=lambda w: TechnicalReport.objects.filter(pk=w["objects"]["report"].pk).update(
            status="sent"
        ),
    ),
    FormRoute(
        "followup:report_route",
        "coordinator",
        lambda w: {"organisation": str(w["caf"].pk)},
        page="followup:report_detail",
    ),
    FormRoute(
        "followup:routing_rule_list",
        "coordinator",
        lambda w: {
            "category": "waste",
            "territory": str(w["territories"]["roubaix"].pk),
            "place_type": "",
            "organisation": str(w["landlord"].pk),
        },
    ),
    FormRoute("followup:observation_create", "mediator", observation_post),
    FormRoute("followup:collective_action_create", "mediator", collective_action_post),
    FormRoute("followup:collective_action_edit", "mediator", collective_action_post),
    FormRoute("jobs:post_create", "coordinator", post_post),
    FormRoute("jobs:post_edit", "coordinator", post_post),
    FormRoute("jobs:post_shares", "coordinator", post_shares_post),
    FormRoute("jobs:mediator_create", "coordinator", mediator_post),
    FormRoute("jobs:mediator_edit", "coordinator", mediator_post),
    FormRoute("jobs:contract_create", "coordinator", contract_post),
    FormRoute("jobs:contract_edit", "coordinator", contract_post),
    FormRoute("jobs:funding_create", "coordinator", funding_post),
    FormRoute("jobs:funding_edit", "coordinator", funding_post),
    FormRoute("jobs:training_create", "coordinator", training_post),
    FormRoute("jobs:training_edit", "coordinator", training_post),
    FormRoute("jobs:practice_review_create", "coordinator", practice_review_post),
    FormRoute("jobs:practice_review_edit", "coordinator", practice_review_post),
    # Evaluation of social utility (lien/evaluation).
    FormRoute("evaluation:evaluation_create", "coordinator", evaluation_post),
    FormRoute("evaluation:evaluation_edit", "coordinator", evaluation_edit_post),
    FormRoute("evaluation:evaluation_assess", "coordinator", evaluation_assess_post),
    FormRoute("evaluation:avoided_cost_create", "coordinator", avoided_cost_post),
    FormRoute("evaluation:survey_create", "coordinator", survey_post),
    FormRoute("evaluation:survey_answer", None, survey_answer_post),
    FormRoute("steering:framework_create", "steering", framework_post),
    FormRoute("steering:framework_edit", "steering", framework_post),
    FormRoute(
        "steering:target_set",
        "steering",
        lambda w: {
            "indicator": str(w["objects"]["target"].indicator_id),
            "value": "75",
            "note": "",
        },
        page="steering:framework_detail",
    ),
    FormRoute("steering:experiment_create", "steering", experiment_post),
    FormRoute("steering:experiment_edit", "steering", experiment_post),
    FormRoute("steering:meeting_create", "steering", meeting_post),
    FormRoute("steering:meeting_edit", "steering", meeting_post),
    FormRoute("steering:decision_create", "steering", decision_post),
    FormRoute("steering:decision_edit", "steering", decision_post),
    FormRoute("steering:generated_report_list", "steering", biannual_post),
    FormRoute(
        "switch_membership",
        "mediator",
        lambda w: {"membership": str(w["actors"]["other_membership"].pk)},
        page="home",
        field_errors=False,
    ),
    FormRoute(
        "login",
        None,
        lambda w: {
            "username": w["actors"]["mediator"].user.email,
            "password": "un-mot-de-passe-long",
            "next": "",
        },
        field_errors=False,
        markup_exempt=frozenset({"username", "password"}),
        # A failed login is journaled; the test logs out between cases.
        journaled=frozenset({AuditAction.LOGIN_FAILED, AuditAction.LOGOUT}),
        redirect_fields=frozenset({"next"}),
    ),
    # Account pages (lien/core/account_views.py).
    FormRoute(
        "team",
        "coordinator",
        lambda w: {"email": "nouvelle@example.org", "full_name": "Nouvelle", "role": "mediator"},
        reset=lambda w: User.objects.filter(email="nouvelle@example.org").delete(),
    ),
    FormRoute(
        "account_password_change",
        "mediator",
        lambda w: {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        page="account_security",
        # A password may hold any character; a mismatch is said on the confirmation.
        field_errors=False,
        markup_exempt=frozenset({"new_password1", "new_password2"}),
    ),
    FormRoute(
        "account_two_factor_setup",
        "mediator",
        lambda w: _totp_setup_post(w),
        only=frozenset({"token"}),
    ),
    FormRoute(
        "account_password_reset",
        None,
        lambda w: {"email": w["actors"]["mediator"].user.email},
    ),
]

#: POST without fields (a button), and who presses it: the action itself is the input.
#: Covered by the URL parameter test (and by the permission matrix).
ACTION_ROUTES = {
    "logout": "mediator",
    "followup:situation_withdraw": "mediator",
    "followup:nextstep_done": "mediator",
    "followup:referral_resend": "mediator",
    "followup:routing_rule_deactivate": "coordinator",
    "notifications:notification_read": "mediator",
    "notifications:notification_read_all": "mediator",
    "account_recovery_codes": "mediator",
    "account_two_factor_disable": "mediator",
    "account_sessions_end": "mediator",
    "team_resend": "coordinator",
    "team_remove": "coordinator",
    # Evaluation of social utility (lien/evaluation).
    "evaluation:avoided_cost_delete": "coordinator",
    "steering:target_delete": "steering",
    # Imports (exchange): starting the commit of a checked file.
    "imports:import_commit": "coordinator",
}

#: Forms reached by a link whose token is the permission, or that need a session state the
#: test cannot give without the account pages' own fixtures (tests/core/test_two_factor.py):
#: only their URL parameters are tested here.
OTHER_FORM_ROUTES = {
    "account_invitation": None,
    "account_two_factor_verify": "mediator",
    # Imports (exchange): the upload (a file) and the column mapping (choices among the
    # file's headers) are tested with malformed files in tests/exchange/test_imports.py.
    "imports:import_map": "coordinator",
}

#: Pages read by GET, and who reads them. Their filter forms get bad query strings.
READ_ROUTES = {
    "healthz": None,
    "opendata:open_data": None,
    "imports:import_template": "coordinator",
    "logbook_manifest": None,
    "service_worker": None,
    "home": "mediator",
    "audit_log": "coordinator",
    "account_security": "mediator",
    "structures:my_structure": "mediator",
    "structures:structure_list": "funder",
    "structures:structure_detail": "coordinator",
    "structures:service_detail": "coordinator",
    "structures:organisation_list": "mediator",
    "logbook:my_entries": "mediator",
    "logbook:outbox": "mediator",
    "logbook:team_log": "coordinator",
    "logbook:intervention_detail": "mediator",
    "logbook:shift_list": "coordinator",
    # exports: the full structure export (its POST is a button: the permission matrix).
    "exports:structure_export_list": "coordinator",
    "exports:structure_export_detail": "coordinator",
    "exports:structure_export_download": "coordinator",
    "indicators:my_month": "mediator",
    "followup:situation_list": "mediator",
    "followup:my_next_steps": "mediator",
    "followup:situation_detail": "mediator",
    "followup:referral_list": "mediator",
    "followup:referral_inbox": "partner",
    "followup:report_list": "mediator",
    "followup:report_inbox": "funder",
    "followup:report_photo": "funder",
    "followup:observation_list": "mediator",
    "followup:collective_action_list": "mediator",
    "notifications:notification_list": "mediator",
    "followup:subject_request": "coordinator",
    "followup:screening_overrides": "coordinator",
    "jobs:post_list": "coordinator",
    "jobs:post_detail": "coordinator",
    "jobs:mediator_list": "coordinator",
    "jobs:training_list": "coordinator",
    # Evaluation of social utility (lien/evaluation).
    "evaluation:evaluation_list": "coordinator",
    "evaluation:evaluation_detail": "coordinator",
    "evaluation:survey_detail": "coordinator",
    "steering:framework_list": "steering",
    "steering:framework_detail": "steering",
    "steering:meeting_detail": "steering",
    "steering:generated_report_detail": "coordinator",
    "steering:generated_report_pdf": "coordinator",
    "steering:generated_report_xlsx": "coordinator",
    # Imports (exchange): the list also takes the upload by POST (see OTHER_FORM_ROUTES).
    "imports:import_list": "coordinator",
    "imports:import_detail": "coordinator",
    "imports:import_report": "coordinator",
}
#: Reads a page journals whatever the query (a search in nominative records).
GET_JOURNALED = {
    "followup:subject_request": frozenset({AuditAction.READ}),
    # exports: each download of the full export is journaled.
    "exports:structure_export_download": frozenset({AuditAction.EXPORT, AuditAction.READ}),
}
#: Dashboards share one filter form: read as a coordinator and as a funder.
DASHBOARD_PREFIX = "indicators:dashboard"

SPECIAL_ROUTES = {"logbook:sync": "mediator"}  # JSON: test_sync_*
# A file of the published open data set, by its name (only its URL parameter is tested
# here; publication and serving in tests/exchange/test_open_data.py).
SPECIAL_ROUTES["opendata:open_data_file"] = None


def app_routes() -> dict[str, str]:
    return {
        name: route
        for name, route, _ in iter_routes()
        if name
        and not name.startswith("admin:")
        and not route.startswith("static/")
        # The REST API answers JSON and is tested against its own schema (tests/exchange).
        and not route.startswith("api/")
    }


def route_kwargs(name: str, route: str, world) -> dict:
    """Fill a route's parameters with the world's own objects (the owner's view)."""
    objects = world["objects"]
    kwargs = {}
    for match in _PARAM.finditer(route):
        param = match["name"]
        if param == "token":
            if name == "followup:referral_link":
                objects["referral"].refresh_from_db()
                kwargs[param] = links.make_token(objects["referral"])
            else:
                kwargs[param] = "x"
            continue
        if param == "uidb64":
            kwargs[param] = "x"
            continue
        if param == "name":  # a file of the published open data set
            kwargs[param] = "activite.csv"
            continue
        if param in {"pk", "uid"}:  # the object the route is named after, by pk or public uid
            kwargs[param] = getattr(objects[name.split(":")[-1].rsplit("_", 1)[0]], param)
        else:
            kwargs[param] = objects[param.removesuffix("_pk")].pk
    return kwargs


def url_for(name: str, world, **overrides) -> str:
    route = app_routes()[name]
    kwargs = route_kwargs(name, route, world)
    kwargs.update(overrides)
    return reverse(name, kwargs=kwargs)


def test_every_route_is_classified():
    """Each route is a form tested here, an action, a page read by GET, or the sync."""
    known = (
        {r.name for r in FORM_ROUTES}
        | set(ACTION_ROUTES)
        | set(OTHER_FORM_ROUTES)
        | set(READ_ROUTES)
        | set(SPECIAL_ROUTES)
    )
    names = set(app_routes())
    unknown = sorted(n for n in names - known if not n.startswith(DASHBOARD_PREFIX))
    assert not unknown, (
        "Routes sans classement dans tests/test_bad_input.py (formulaire, action ou page) : "
        + ", ".join(unknown)
    )
    gone = sorted(known - names)
    assert not gone, f"Routes classées mais disparues : {gone}"


# --- reading the page's form ----------------------------------------------------------------


@dataclass
class HtmlForm:
    method: str
    action: str
    fields: dict[str, str] = field(default_factory=dict)  # name -> html kind
    multiple: set[str] = field(default_factory=set)


class FormParser(HTMLParser):
    """The forms of a page: their method, action and field names (input, select, textarea)."""

    def __init__(self):
        super().__init__()
        self.forms: list[HtmlForm] = []
        self._current: HtmlForm | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._current = HtmlForm(
                method=(attrs.get("method") or "get").lower(),
                action=attrs.get("action") or "",
            )
            self.forms.append(self._current)
            return
        if self._current is None or tag not in {"input", "select", "textarea"}:
            return
        name = attrs.get("name")
        if not name or name == "csrfmiddlewaretoken":
            return
        kind = (attrs.get("type") or "text").lower() if tag == "input" else tag
        if kind in {"submit", "button", "reset", "image"}:
            return
        if name in self._current.fields and kind == "checkbox":
            self._current.multiple.add(name)
        if tag == "select" and "multiple" in attrs:
            self._current.multiple.add(name)
        self._current.fields.setdefault(name, kind)

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def page_forms(content: bytes) -> list[HtmlForm]:
    parser = FormParser()
    parser.feed(content.decode())
    return parser.forms


def form_posting_to(forms_: list[HtmlForm], page_path: str, target: str) -> HtmlForm:
    for candidate in forms_:
        action = (candidate.action or page_path).split("?")[0]
        if candidate.method == "post" and action == target:
            return candidate
    raise AssertionError(f"Aucun formulaire POST vers {target} sur {page_path}")


def context_forms(response) -> list[forms.BaseForm]:
    found = []
    for context in response.context or []:
        for value in context.flatten().values() if hasattr(context, "flatten") else []:
            if isinstance(value, forms.BaseForm) and all(value is not f for f in found):
                found.append(value)
    return found


def django_fields(response) -> dict[str, forms.Field]:
    """HTML name -> Django form field, for the forms the page was drawn with."""
    out = {}
    for form in context_forms(response):
        for name, form_field in form.fields.items():
            out.setdefault(form.add_prefix(name), form_field)
    return out


def field_kind(form_field: forms.Field | None) -> str:
    if form_field is None:
        return "typed"  # a hidden value the view reads itself (an id, a version)
    if isinstance(form_field, forms.BooleanField):
        return "flag"
    if isinstance(form_field, forms.FileField):
        return "file"
    if type(form_field) in (forms.CharField, UsernameField):
        return "text"
    return "typed"


def bad_values_for(form_field: forms.Field | None) -> dict[str, str]:
    """The bad values that make sense for a field (all of them for a free-text field)."""
    kind = field_kind(form_field)
    if kind == "text":
        return {**ALWAYS_BAD, **SQL}
    if kind == "flag":
        return {"long": LONG, "nul": NUL, "abc": "abc"}
    if isinstance(form_field, forms.IntegerField | forms.DecimalField | forms.FloatField):
        names = ["long", "script", "nul", "abc", "minus-one", "1e309", "huge", "sql-or"]
        minimum = form_field.min_value
        if minimum is not None and minimum <= -1:
            names.remove("minus-one")  # a latitude of -1 is a latitude
    elif isinstance(form_field, forms.DateField | forms.DateTimeField):
        names = ["long", "script", "nul", "abc", "bad-date", "minus-one", "huge", "sql-or"]
    elif form_field is None:  # a hidden id or version the view reads itself
        names = ["long", "nul", "abc", "minus-one", "huge", "sql-or"]
    else:  # choices, ids, codes: anything but a known value is the same mistake
        names = ["long", "script", "nul", "abc", "huge", "sql-or", "sql-drop"]
    return {name: EVERY_BAD[name] for name in names}


# --- what was stored ------------------------------------------------------------------------


def project_tables() -> list[str]:
    tables = set()
    for model in apps.get_models(include_auto_created=True):
        if model.__module__.startswith("lien."):
            tables.add(model._meta.db_table)
    tables.add(AuditEvent._meta.db_table)
    return sorted(tables)


def snapshot(*, ignore_audit_actions=frozenset()) -> dict[str, list[str]]:
    """Every row of every table of Lien's apps (not sessions, not login attempts)."""
    state = {}
    with connection.cursor() as cursor:
        for table in project_tables():
            quoted = connection.ops.quote_name(table)
            sql = f"SELECT * FROM {quoted}"  # noqa: S608 - table names from the app registry
            if table == AuditEvent._meta.db_table and ignore_audit_actions:
                placeholders = ", ".join(["%s"] * len(ignore_audit_actions))
                sql += f" WHERE action NOT IN ({placeholders})"
                cursor.execute(sql, sorted(ignore_audit_actions))
            else:
                cursor.execute(sql)
            state[table] = sorted(repr(row) for row in cursor.fetchall())
    return state


def differences(before: dict, after: dict) -> list[str]:
    changed = []
    for table in before:
        if before[table] != after[table]:
            added = len(set(after[table]) - set(before[table]))
            removed = len(set(before[table]) - set(after[table]))
            changed.append(f"{table} (+{added} / -{removed})")
    return changed


def stored_verbatim(state: dict, text: str) -> bool:
    return any(text in row for rows in state.values() for row in rows)


# --- posting and judging the answer ---------------------------------------------------------


def log_in(client, membership: Membership | None):
    client.logout()
    if membership is None:
        return
    client.force_login(membership.user, backend="lien.core.auth.EmailBackend")
    session = client.session
    session["lien_membership_id"] = str(membership.pk)
    session.save()


def flashed_errors(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request) if m.level == message_levels.ERROR]


def judge(response, *, html_name: str, form_field, route: FormRoute) -> str | None:
    """None if the answer is a clear refusal of `html_name`, else what is wrong."""
    status = response.status_code
    if status >= 500:
        return f"→ {status}"
    if status in {403, 404, 405}:
        return None
    if status == 302:
        errors = flashed_errors(response)
        if not errors:
            return f"→ 302 vers {response.headers.get('Location')} sans message d'erreur"
        label = getattr(form_field, "label", None)
        if label and route.field_errors and not any(str(label) in e for e in errors):
            return f"→ 302, erreurs sans le libellé « {label} » : {errors}"
        return None
    if status not in {200, 400, 422}:
        return f"→ {status}"
    bound = [f for f in context_forms(response) if f.is_bound and f.errors]
    if not bound:
        if status == 400:
            return None  # a refusal page (e.g. an invalid membership id)
        return f"→ {status} sans erreur de formulaire"
    content = response.content.decode()
    for form in bound:
        field_name = html_name.removeprefix(f"{form.prefix}-") if form.prefix else html_name
        if field_name in form.errors:
            messages = form.errors[field_name]
        elif form_field is None or not route.field_errors:
            messages = form.non_field_errors() or [m for e in form.errors.values() for m in e]
        elif route.baseline is None:
            messages = [m for e in form.errors.values() for m in e]  # other fields are empty
        else:
            continue
        if not any(html.escape(str(m)) in content for m in messages):
            return f"→ {status}, erreur invisible sur la page : {list(messages)}"
        return None
    found = {k: v for f in bound for k, v in f.errors.items()}
    return f"→ {status}, erreur sur d'autres champs que {html_name} : {found}"


def encode(data: dict, html_form: HtmlForm) -> dict:
    """Multi-valued fields go as lists; the rest as strings."""
    out = {}
    for key, value in data.items():
        if key in html_form.multiple and not isinstance(value, list):
            value = [value]
        out[key] = value
    return out


def open_form(client, world, route: FormRoute):
    """GET the page showing the route's form, as its user: (html form, django fields)."""
    log_in(client, world["actors"].get(route.actor) if route.actor else None)
    target = url_for(route.name, world).split("?")[0]
    page = url_for(route.page, world) if route.page else target
    response = client.get(page + route.page_query(world))
    assert response.status_code in {200, 400}, (page, response.status_code)
    html_form = form_posting_to(page_forms(response.content), page, target)
    return target, html_form, django_fields(response)


@pytest.mark.parametrize("route", FORM_ROUTES, ids=lambda r: r.name)
def test_baseline_is_accepted(world, client, route):
    """Control: the valid payload is stored, so a refusal below is the bad value's doing."""
    if route.baseline is None:
        pytest.skip("pas de saisie valide connue : les valeurs mauvaises seules sont testées")
    target, html_form, _ = open_form(client, world, route)
    before = snapshot()
    data = route.baseline(world)
    missing = (
        set(html_form.fields)
        - set(data)
        - {name for name, kind in html_form.fields.items() if kind in {"checkbox", "file"}}
    )
    missing -= {n for n in missing if n.startswith("request_") or n.endswith("text_confirmed")}
    assert not missing, f"La saisie valide de {route.name} ne donne pas : {sorted(missing)}"
    response = client.post(target, encode(data, html_form))
    assert response.status_code in {200, 302}, response.status_code
    assert not flashed_errors(response), flashed_errors(response)
    bound = [f for f in context_forms(response) if f.is_bound and f.errors]
    assert not bound, [f.errors for f in bound]
    assert differences(before, snapshot()), f"{route.name} : la saisie valide n'a rien changé"


@pytest.mark.parametrize("route", FORM_ROUTES, ids=lambda r: r.name)
def test_bad_values_are_refused_and_nothing_is_stored(world, client, route):
    target, html_form, dj_fields = open_form(client, world, route)
    failures = []
    before = snapshot(ignore_audit_actions=route.journaled)
    for html_name, html_kind in html_form.fields.items():
        if html_name.startswith("request_") and html_name != _first_request_field(html_form):
            continue  # the access-request counts are all the same field: test one
        if route.only is not None and html_name not in route.only:
            continue
        form_field = dj_fields.get(html_name)
        kind = field_kind(form_field)
        if kind == "file" or html_kind == "file":
            continue  # test_upload_*
        for label, value in bad_values_for(form_field).items():
            data = route.baseline(world) if route.baseline else {}
            data[html_name] = value
            client.cookies.pop("messages", None)
            if route.name == "login":
                client.logout()
                _forget_login_failures()
            response = client.post(target, encode(data, html_form))
            after = snapshot(ignore_audit_actions=route.journaled)
            changed = differences(before, after)
            problem = _bad_value_problem(
                route, response, html_name, form_field, label, stored=bool(changed)
            )
            if problem:
                failures.append(f"{html_name}={label} {problem}")
            if changed:
                route.reset(world)
                before = snapshot(ignore_audit_actions=route.journaled)
    assert not failures, f"{route.name} :\n" + "\n".join(failures)


def _bad_value_problem(route, response, html_name, form_field, label, *, stored):
    """What is wrong with the answer to one bad value, or None."""
    kind = field_kind(form_field)
    if response.status_code >= 500:
        return f"→ {response.status_code}"
    if html_name in route.redirect_fields:
        # Where to go after a valid submission: a bad target is replaced by a local page.
        location = response.headers.get("Location", "")
        if response.status_code == 302 and not _is_local(location):
            return f"→ redirection hors du site : {location}"
        return None
    if kind == "flag":
        return None  # any value ticks a box: only a crash would be wrong
    if kind == "text" and label in SQL:
        # Inert text: stored as typed (test_sql_in_free_text_is_stored_verbatim), or
        # refused by a rule of the field (too long for initials); never run.
        assert User.objects.exists()
        if stored:
            return None
        problem = judge(response, html_name=html_name, form_field=form_field, route=route)
        return f"ni enregistré ni refusé clairement {problem}" if problem else None
    problem = judge(response, html_name=html_name, form_field=form_field, route=route)
    if stored:
        return f"enregistré malgré le refus {problem or ''}"
    if problem:
        return problem
    if (
        kind == "text"
        and label in {"script", "img"}
        and route.baseline is not None
        and html_name not in route.markup_exempt
        and MARKUP_MESSAGE not in response.content.decode()
        and not any(MARKUP_MESSAGE in e for e in flashed_errors(response))
    ):
        return ": pas de message sur les balises HTML"
    return None


def _is_local(location: str) -> bool:
    return url_has_allowed_host_and_scheme(location, allowed_hosts={"testserver"})


def _first_request_field(html_form: HtmlForm) -> str | None:
    return next((n for n in html_form.fields if n.startswith("request_")), None)


def _forget_login_failures():
    """Each bad login is judged alone: without this, the sixth is the lockout page."""
    from axes.models import AccessAttempt

    AccessAttempt.objects.all().delete()


# --- free text: markup refused, a lone "<" kept, SQL stored as typed -------------------------


@pytest.mark.parametrize(
    "text",
    [
        SCRIPT,
        IMG,
        "</b>",
        "<b>gras</b>",
        "<!-- commentaire -->",
        "<!DOCTYPE html>",
        "<?php echo 1; ?>",
        "<svg/onload=alert(1)>",
        "avant <a href='x'>lien</a> après",
    ],
)
def test_markup_is_refused_with_a_message_naming_the_tag(text):
    with pytest.raises(ValidationError) as refused:
        reject_markup(text)
    [message] = refused.value.messages
    assert message.startswith("Ce champ ne peut pas contenir de balises HTML (« <")
    assert message.endswith("»).")


@pytest.mark.parametrize(
    "text",
    ["a < b", "<3", "1 <2 et 3> 2", "<= 5 personnes", "< b >", "x << y", "flèche <-", "", "<"],
)
def test_text_with_a_lone_angle_bracket_is_accepted(text):
    reject_markup(text)


def test_a_long_tag_is_named_shortened():
    with pytest.raises(ValidationError) as refused:
        reject_markup("<a " + "x" * 200 + ">")
    assert len(refused.value.messages[0]) < 100


def test_null_bytes_are_refused_by_every_text_field():
    """Django's CharField (and our subclasses) carry ProhibitNullCharactersValidator."""
    field = forms.CharField(max_length=20)
    with pytest.raises(ValidationError) as refused:
        field.clean(NUL)
    assert refused.value.error_list[0].code == "null_characters_not_allowed"


SQL_TEXT_CASES = [
    ("logbook:log_intervention", "note", "mediator", intervention_post),
    ("followup:situation_create", "summary", "mediator", situation_post),
    ("followup:referral_create", "request", "mediator", referral_post),
    ("followup:collective_action_create", "notes", "mediator", collective_action_post),
    ("structures:service_create", "objectives", "coordinator", service_post),
]


@pytest.mark.parametrize(
    ("name", "field_name", "actor", "baseline"), SQL_TEXT_CASES, ids=[c[0] for c in SQL_TEXT_CASES]
)
@pytest.mark.parametrize("sql", [SQL_OR, SQL_DROP], ids=["or", "drop"])
def test_sql_in_free_text_is_stored_verbatim(world, client, name, field_name, actor, baseline, sql):
    log_in(client, world["actors"][actor])
    users = User.objects.count()
    before = snapshot()
    response = client.post(url_for(name, world), {**baseline(world), field_name: sql})
    assert response.status_code == 302, response.status_code
    after = snapshot()
    assert differences(before, after)
    assert stored_verbatim(after, sql)
    assert User.objects.count() == users


# --- uploads ------------------------------------------------------------------------------------


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (12, 8), (255, 0, 0, 128)).save(out, format="PNG")
    return out.getvalue()


def multipart(fields: dict, files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    """A multipart body built by hand: Django's test client would drop the file name's
    directories itself (`os.path.basename`), and the server's own defence is under test."""
    boundary = "----LienBadInputBoundary"
    parts = []
    for key, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'.encode()
                + str(item).encode()
                + b"\r\n"
            )
    for key, (filename, content, content_type) in files.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"; '
            f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'.encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def media_files(root) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


REFUSED_UPLOADS = {
    "passwd-traversal": (
        "../../etc/passwd.jpg",
        b"root:x:0:0:root:/root:/bin/bash\n",
        "image/jpeg",
    ),
    "svg-script": (
        "photo.png",
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        "image/png",
    ),
    "html": ("photo.jpg", b"<html><script>alert(1)</script></html>", "image/jpeg"),
    "empty": ("vide.jpg", b"", "image/jpeg"),
    "truncated-png": ("coupee.png", _png()[:40], "image/png"),
    "gif": ("anim.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/gif"),
}


@pytest.mark.parametrize("case", REFUSED_UPLOADS, ids=list(REFUSED_UPLOADS))
def test_upload_that_is_not_an_accepted_image_is_refused(world, client, settings, tmp_path, case):
    log_in(client, world["actors"]["mediator"])
    filename, content, content_type = REFUSED_UPLOADS[case]
    body, multipart_type = multipart(
        report_post(world), {"photo": (filename, content, content_type)}
    )
    files_before = media_files(tmp_path)
    before = snapshot()
    response = client.post(
        reverse("followup:report_create"), data=body, content_type=multipart_type
    )
    assert response.status_code == 200, response.status_code
    [form] = [f for f in context_forms(response) if f.is_bound]
    assert "photo" in form.errors, form.errors
    assert html.escape(form.errors["photo"][0]) in response.content.decode()
    assert not differences(before, snapshot())
    assert media_files(tmp_path) == files_before


ACCEPTED_UPLOADS = {
    "png-traversal": "../../../evil.png",
    "png-backslashes": "..\\..\\..\\evil.png",
    "png-absolute": "/etc/cron.d/evil.png",
    "png-script-name": "<script>alert(1)</script>.png",
    "png-long-name": "e" * 300 + ".png",
    "png-jpg-extension": "evil.jpg.exe",
}


@pytest.mark.parametrize("case", ACCEPTED_UPLOADS, ids=list(ACCEPTED_UPLOADS))
def test_image_upload_is_stored_under_a_generated_name(world, client, settings, tmp_path, case):
    """A real image is kept, re-encoded, under a name the server makes: nothing of the
    client's file name (directories, '..', tags) reaches the disk."""
    log_in(client, world["actors"]["mediator"])
    body, multipart_type = multipart(
        report_post(world), {"photo": (ACCEPTED_UPLOADS[case], _png(), "image/png")}
    )
    files_before = media_files(tmp_path)
    known = set(TechnicalReport.objects.values_list("pk", flat=True))
    response = client.post(
        reverse("followup:report_create"), data=body, content_type=multipart_type
    )
    assert response.status_code == 302, response.status_code
    [report] = TechnicalReport.objects.exclude(pk__in=known)
    name = report.photo.name
    assert re.fullmatch(r"reports/\d{4}/\d{2}/[0-9a-f]{32}\.jpg", name), name
    assert ".." not in name and "evil" not in name and "<" not in name
    media_root = settings.MEDIA_ROOT.resolve()
    stored = (media_root / name).resolve()
    assert stored.is_relative_to(media_root)
    assert stored.read_bytes()[:3] == b"\xff\xd8\xff"  # re-encoded as JPEG
    new_files = media_files(tmp_path) - files_before
    assert new_files == {str(stored.relative_to(tmp_path))}, new_files


# --- the offline sync endpoint (JSON) ------------------------------------------------------------


def sync_payload(world) -> dict:
    data = intervention_post(world)
    data["duration_minutes"] = 20
    data["people_met"] = 2
    data["mediators"] = [world["actors"]["mediator2"].user_id]
    return data


def post_sync(client, body) -> object:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(reverse("logbook:sync"), data=raw, content_type="application/json")


def _entry(data, **envelope) -> dict:
    import uuid

    return {"id": str(uuid.uuid4()), "base_version": None, "data": data, **envelope}


def test_sync_accepts_the_valid_entries(world, client):
    """Control for the sync cases below: the entry they spoil is valid as it is."""
    log_in(client, world["actors"]["mediator"])
    theme = RequestTheme.objects.active().first().code
    with_requests = {
        **sync_payload(world),
        "activity_type": "intermediation-culturelle",
        "access_requests": [{"theme": theme, "count": 2}],
    }
    before = snapshot()
    response = post_sync(client, {"entries": [_entry(sync_payload(world)), _entry(with_requests)]})
    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == ["created", "created"]
    assert differences(before, snapshot())


BAD_BODIES = {
    "not-json": b"abc",
    "empty": b"",
    "null-byte": b"\x00",
    "not-utf8": b"\xff\xfe\xfd",
    "deep-nesting": b"[" * 100_000 + b"]" * 100_000,
    "deep-object": b'{"entries": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "list": b"[1, 2, 3]",
    "entries-string": b'{"entries": "abc"}',
    "entries-object": b'{"entries": {"id": 1}}',
    "entries-null": b'{"entries": null}',
    "too-many": json.dumps({"entries": [{}] * 1001}).encode(),
    "nan": b'{"entries": NaN}',
}


@pytest.mark.parametrize("case", BAD_BODIES, ids=list(BAD_BODIES))
def test_sync_refuses_a_bad_body(world, client, case):
    log_in(client, world["actors"]["mediator"])
    before = snapshot()
    response = post_sync(client, BAD_BODIES[case])
    assert response.status_code in {400, 413}, response.status_code
    assert response.json()["error"]
    assert not differences(before, snapshot())


def bad_envelopes(world) -> dict[str, object]:
    data = sync_payload(world)
    existing = str(world["objects"]["intervention"].pk)
    return {
        "not-an-object": 1,
        "string": "abc",
        "null": None,
        "list": [1],
        "id-missing": {"data": data},
        **{f"id-{k}": _entry(data, id=v) for k, v in EVERY_BAD.items()},
        "id-traversal": _entry(data, id="../../etc/passwd"),
        "id-number": _entry(data, id=12),
        "id-list": _entry(data, id=[existing]),
        "data-string": _entry("abc"),
        "data-list": _entry([data]),
        "data-null": _entry(None),
        **{
            f"base_version-{k}": _entry(data, id=existing, base_version=v)
            for k, v in EVERY_BAD.items()
        },
        "base_version-float": _entry(data, id=existing, base_version=1.5),
        "base_version-inf": _entry(data, id=existing, base_version=float("inf")),
        "base_version-bool": _entry(data, id=existing, base_version=True),
        "base_version-huge-int": _entry(data, id=existing, base_version=10**20),
        "base_version-negative": _entry(data, id=existing, base_version=-1),
        "base_version-on-new-entry": _entry(data, base_version=1),
    }


def test_sync_refuses_bad_envelopes_entry_by_entry(world, client):
    log_in(client, world["actors"]["mediator"])
    cases = bad_envelopes(world)
    before = snapshot()
    response = post_sync(
        client, json.dumps({"entries": list(cases.values())}, allow_nan=True).encode()
    )
    assert response.status_code == 200, response.status_code
    results = response.json()["results"]
    wrong = [
        f"{case} → {result}"
        for case, result in zip(cases, results, strict=True)
        if result["status"] not in {"invalid", "refused", "conflict"}
        or not (result.get("errors") or result.get("message"))
    ]
    assert not wrong, "\n".join(wrong)
    assert not differences(before, snapshot())


#: JSON values of other types than the strings a form posts.
JSON_TYPES = {
    "number": 12345,
    "float-inf": float("inf"),
    "true": True,
    "list": [1],
    "object": {"a": 1},
}


def test_sync_refuses_bad_values_field_by_field(world, client):
    """Each field of a valid entry carries each bad value, one entry per case; every
    answer is "invalid" with an error, and nothing is stored."""
    log_in(client, world["actors"]["mediator"])
    theme = RequestTheme.objects.active().first().code
    failures = []
    before = snapshot()
    for field_name in sync_payload(world):
        values = {**EVERY_BAD, **JSON_TYPES}
        if field_name == "note":
            values = {**ALWAYS_BAD, "list": ["<b>x</b>"], "object": {"<b>": 1}}
        if field_name in {"qpv", "place_type", "situation_category", "timing", "form"}:
            values.pop("true", None)  # "on" is no code either: kept below
        if field_name == "mediators":
            values.update(
                strings=["abc"], script=[SCRIPT], huge=[10**20], nested=[[1]], obj=[{"a": 1}]
            )
        entries = []
        for value in values.values():
            data = sync_payload(world)
            data[field_name] = value
            entries.append(_entry(data))
        response = post_sync(client, json.dumps({"entries": entries}, allow_nan=True).encode())
        if response.status_code >= 500:
            failures.append(f"{field_name} → {response.status_code}")
            continue
        for label, result in zip(values, response.json()["results"], strict=True):
            if result["status"] != "invalid" or not result.get("errors"):
                failures.append(f"{field_name}={label} → {result}")
    access_requests = {
        "string": "abc",
        "unknown-theme": [{"theme": "inconnu", "count": 1}],
        "theme-object": [{"theme": {"a": 1}, "count": 1}],
        "theme-list": [{"theme": [theme], "count": 1}],
        **{f"count-{k}": [{"theme": theme, "count": v}] for k, v in EVERY_BAD.items()},
        "count-inf": [{"theme": theme, "count": float("inf")}],
        "count-object": [{"theme": theme, "count": {"a": 1}}],
        "count-huge-int": [{"theme": theme, "count": 10**20}],
    }
    entries = []
    for value in access_requests.values():
        # An activity that takes requests by theme, so that only the bad value is wrong.
        data = {**sync_payload(world), "activity_type": "intermediation-culturelle"}
        data["access_requests"] = value
        entries.append(_entry(data))
    response = post_sync(client, json.dumps({"entries": entries}, allow_nan=True).encode())
    assert response.status_code == 200, response.status_code
    for label, result in zip(access_requests, response.json()["results"], strict=True):
        if result["status"] != "invalid" or not result.get("errors"):
            failures.append(f"access_requests={label} → {result}")
    assert not failures, "\n".join(failures)
    assert not differences(before, snapshot())


# --- filter forms and query strings of the pages read by GET ------------------------------------

#: Query parameters some views read without a form.
LOOSE_PARAMETERS = ["page", "etat", "secteur", "niveau", "tournee", "suivi", "intervention", "q"]
GET_VALUES = {
    "long": LONG,
    "script": SCRIPT,
    "nul": NUL,
    **WRONG_TYPES,
    "sql-or": SQL_OR,
    "month-overflow": "99999999999999999999-01",  # a year past `datetime.date`'s range
}


def dashboard_routes() -> list[str]:
    return sorted(n for n in app_routes() if n.startswith(DASHBOARD_PREFIX))


#: Known 500s outside the files this test's fixes could touch: a search term with a null
#: byte reaches an `icontains` query, which PostgreSQL refuses (DataError). Strict: the
#: mark fails once the view refuses or strips the byte, and can then be removed.


def _get_case(name: str, actor: str):
    return pytest.param(name, actor, id=f"{name}-{actor}")


GET_CASES = [
    *(_get_case(name, actor) for name, actor in READ_ROUTES.items()),
    *(_get_case(name, "coordinator") for name in dashboard_routes()),
    _get_case("indicators:dashboard", "funder"),  # the same form, with the funder's choices
]


@pytest.mark.parametrize(("name", "actor"), GET_CASES)
def test_pages_survive_bad_query_strings(world, client, name, actor):
    """Every field of the page's GET forms, and the parameters views read themselves, carry
    the same bad value at once: the page answers (the filter's error shown, or the value
    ignored), never a 5xx, and nothing is stored."""
    log_in(client, world["actors"][actor] if actor else None)
    path = url_for(name, world)
    response = client.get(path)
    assert response.status_code in {200, 302}, response.status_code
    names = set(LOOSE_PARAMETERS)
    if response.status_code == 200 and "text/html" in response.headers.get("Content-Type", ""):
        for html_form in page_forms(response.content):
            if html_form.method == "get":
                names |= set(html_form.fields)
    failures = []
    journaled = GET_JOURNALED.get(name, frozenset())
    before = snapshot(ignore_audit_actions=journaled)
    for label, value in GET_VALUES.items():
        query = urlencode(dict.fromkeys(sorted(names), value))
        answer = client.get(f"{path}?{query}")
        if answer.status_code >= 500 or answer.status_code not in {200, 302, 400, 403, 404}:
            failures.append(f"{label} → {answer.status_code}")
    assert not failures, f"{name} ({sorted(names)}) :\n" + "\n".join(failures)
    assert not differences(before, snapshot(ignore_audit_actions=journaled))


def test_a_bad_filter_is_named_on_the_page(world, client):
    """A filter form says which value it did not understand (the team log, the dashboard)."""
    log_in(client, world["actors"]["coordinator"])
    response = client.get(reverse("logbook:team_log"), {"start": "2026-13-45", "mediator": "abc"})
    assert response.status_code == 200
    filters = response.context["filters"]
    assert set(filters.errors) == {"start", "mediator"}
    for message in (*filters.errors["start"], *filters.errors["mediator"]):
        assert html.escape(message) in response.content.decode()
    response = client.get(reverse("indicators:dashboard"), {"date": "99999999999999999999-01"})
    assert response.status_code == 200
    assert "Mois attendu au format AAAA-MM" in response.content.decode()


# --- URL parameters -------------------------------------------------------------------------------

BAD_PATH_VALUES = {
    "uuid": ["00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff"],
    "int": ["0", "99999999999999999999", "9" * 400],
    "str": [
        "abc",
        "x" * 2000,
        "..",
        "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "%3Cscript%3E",
        "%00",
        "' OR 1=1 --",
    ],
}


def route_actor(name: str) -> str | None:
    for route in FORM_ROUTES:
        if route.name == name:
            return route.actor
    for table in (ACTION_ROUTES, OTHER_FORM_ROUTES, READ_ROUTES, SPECIAL_ROUTES):
        if name in table:
            return table[name]
    return "coordinator"


def test_url_parameters_of_the_wrong_shape_are_refused(world, client):
    """Each parameter of each route, in turn, names nothing: GET and POST answer a refusal
    (404, or 403 for a signed link), as the user who owns the real objects."""
    failures = []
    for name, route in sorted(app_routes().items()):
        params = list(_PARAM.finditer(route))
        if not params:
            continue
        log_in(client, world["actors"].get(route_actor(name)) if route_actor(name) else None)
        before = snapshot()
        for match in params:
            converter = match["conv"] or "str"
            for value in BAD_PATH_VALUES.get(converter, BAD_PATH_VALUES["str"]):
                kwargs = route_kwargs(name, route, world)
                path = reverse(name, kwargs=kwargs)
                real = str(kwargs[match["name"]])
                if f"/{real}/" in path:
                    path = path.replace(f"/{real}/", f"/{value}/", 1)
                else:  # the last part of the path (a file name)
                    assert path.endswith(f"/{real}"), (name, path)
                    path = path.removesuffix(real) + value
                for method in ("get", "post"):
                    answer = getattr(client, method)(path)
                    if answer.status_code not in {400, 403, 404, 405}:
                        failures.append(
                            f"{method.upper()} {name} [{match['name']}={value[:20]}]"
                            f" → {answer.status_code}"
                        )
        changed = differences(before, snapshot())
        if changed:
            failures.append(f"{name} : enregistré ({', '.join(changed)})")
    assert not failures, "\n".join(failures)
