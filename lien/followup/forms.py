"""Forms of the follow-up pages. Free text is screened (names, phone numbers, e-mail
addresses, social-security numbers, sensitive terms): a flagged text is refused with the
reason until the person rephrases it or ticks the confirmation."""

from django import forms
from django.db.models import Q
from django.utils import timezone

from lien.core.forms import ModelMultipleChoiceField, ScreenedForm
from lien.core.screening import screen
from lien.core.validators import is_uuid, reject_markup
from lien.followup.models import (
    AlertLevel,
    CollectiveAction,
    CollectiveKind,
    ConsentScope,
    PartyRole,
    ReferralResult,
    ReferralStatus,
    ReportCategory,
    ReportStatus,
    Situation,
    SituationKind,
)
from lien.logbook.forms import (
    InterventionForm,
    TerritoryCodeField,
    local_territories,
    structure_members,
)
from lien.logbook.models import Intervention
from lien.referentiel.models import Domain, Outcome, PlaceType, RequestTheme, SituationCategory
from lien.structures.forms import DateInput
from lien.structures.models import Organisation, OrganisationKind, Service
from lien.territories.models import Level, Territory


def _services(structure):
    return Service.objects.filter(structure=structure, is_active=True).order_by("name")


def _service_choices(form, structure) -> None:
    """The structure's active services; the only one is preselected."""
    services = list(_services(structure))
    form.fields["service"].queryset = _services(structure)
    if len(services) == 1 and not form.initial.get("service"):
        form.fields["service"].initial = services[0].pk


def _territory_widgets(form, structure) -> None:
    communes, qpvs = local_territories(structure)
    form.fields["commune"].widget = forms.Select(
        choices=[("", "—"), *((c.code, c.name) for c in communes)]
    )
    if "qpv" in form.fields:
        form.fields["qpv"].widget = forms.Select(
            choices=[("", "Hors QPV"), *((q.code, q.name) for q in qpvs)]
        )


def _check_qpv(form, data) -> None:
    commune, qpv = data.get("commune"), data.get("qpv")
    if (
        commune
        and qpv
        and not (
            qpv.parent_id == commune.pk or qpv.secondary_parents.filter(pk=commune.pk).exists()
        )
    ):
        form.add_error("qpv", f"Le QPV « {qpv.name} » ne couvre pas la commune « {commune.name} ».")


# --- situations -----------------------------------------------------------------------------


SITUATION_FIELDS = (
    "service",
    "kind",
    "initials",
    "domain",
    "category",
    "commune",
    "qpv",
    "summary",
    "is_nominative",
    "names",
    "contact",
    "consent_on",
    "consent_scope",
)


class SituationForm(ScreenedForm):
    screened_fields = ("summary",)

    service = forms.ModelChoiceField(label="Dispositif", queryset=Service.objects.none())
    kind = forms.ChoiceField(label="Type de suivi", choices=SituationKind.choices)
    initials = forms.CharField(
        label="Initiales ou pseudonyme",
        max_length=20,
        help_text="Par exemple « M. D. » ou « Locataire bât. C » : pas de nom ici.",
        validators=[reject_markup],
    )
    domain = forms.ModelChoiceField(label="Domaine", queryset=Domain.objects.active())
    category = forms.ModelChoiceField(
        label="Situation", queryset=SituationCategory.objects.active(), required=False
    )
    commune = TerritoryCodeField(level=Level.COMMUNE, label="Commune")
    qpv = TerritoryCodeField(level=Level.QPV, label="QPV", required=False)
    summary = forms.CharField(
        label="Objet du suivi",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Les faits et la demande, sans nom ni donnée sensible.",
        validators=[reject_markup],
    )
    parties = forms.CharField(
        label="Parties (une par ligne)",
        required=False,
        # Each line becomes a party of 80 characters at most: a dozen lines is plenty.
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Pseudonymes ou fonctions : « voisin du 2e », « bailleur ».",
        validators=[reject_markup],
    )
    is_nominative = forms.BooleanField(
        label="Ce suivi a besoin des noms (suivi nominatif)",
        required=False,
        help_text="Seulement si le suivi l'exige, avec l'accord de la personne.",
    )
    names = forms.CharField(
        label="Noms des personnes", max_length=300, required=False, validators=[reject_markup]
    )
    contact = forms.CharField(
        label="Coordonnées", max_length=200, required=False, validators=[reject_markup]
    )
    consent_on = forms.DateField(
        label="Consentement recueilli le", required=False, widget=DateInput()
    )
    consent_scope = forms.ChoiceField(
        label="Portée du consentement", choices=[("", "—"), *ConsentScope.choices], required=False
    )

    def __init__(self, *args, structure, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        _service_choices(self, structure)
        _territory_widgets(self, structure)
        if editing:
            del self.fields["parties"]

    def clean(self):
        data = super().clean()
        _check_qpv(self, data)
        if data.get("is_nominative"):
            if not data.get("consent_on"):
                self.add_error("consent_on", "Un suivi nominatif exige la date du consentement.")
            if not data.get("consent_scope"):
                self.add_error("consent_scope", "Précisez ce à quoi la personne consent.")
            if not data.get("names"):
                self.add_error("names", "Indiquez les noms, ou décochez « suivi nominatif ».")
        else:
            for name in ("names", "contact"):
                if data.get(name):
                    self.add_error(
                        name,
                        "Des noms ou coordonnées ne se saisissent que dans un suivi nominatif.",
                    )
        return data

    def situation_data(self) -> dict:
        data = self.cleaned_data
        out = {name: data.get(name) for name in SITUATION_FIELDS}
        out["summary_warnings"] = self.warnings.get("summary", [])
        for name in ("names", "contact", "consent_scope"):
            out[name] = out[name] or ""
        return out

    def parties_data(self) -> list[dict]:
        lines = (self.cleaned_data.get("parties") or "").splitlines()
        return [
            {"role": PartyRole.REQUESTER if i == 0 else PartyRole.OTHER, "label": line.strip()[:80]}
            for i, line in enumerate(line for line in lines if line.strip())
        ]


class CloseSituationForm(forms.Form):
    outcome = forms.ModelChoiceField(label="Issue", queryset=Outcome.objects.active())
    closed_on = forms.DateField(label="Clos le", widget=DateInput())


class PartyForm(forms.Form):
    role = forms.ChoiceField(label="Rôle", choices=PartyRole.choices)
    label = forms.CharField(
        label="Désignation (pseudonyme ou fonction)", max_length=80, validators=[reject_markup]
    )


class NextStepForm(ScreenedForm):
    screened_fields = ("text",)
    text = forms.CharField(label="Prochaine étape", max_length=200, validators=[reject_markup])
    due_on = forms.DateField(label="Échéance", widget=DateInput())
    assignee = forms.ModelChoiceField(label="Confiée à", queryset=None)

    def __init__(self, *args, structure, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = structure_members(structure).order_by("full_name")


class AgreementForm(ScreenedForm):
    screened_fields = ("text",)
    text = forms.CharField(label="Accord", max_length=300, validators=[reject_markup])
    agreed_on = forms.DateField(label="Conclu le", widget=DateInput())
    review_on = forms.DateField(label="À vérifier le", widget=DateInput())


class AgreementReviewForm(forms.Form):
    held = forms.TypedChoiceField(
        label="L'accord a-t-il tenu ?",
        choices=[("1", "Oui, il a tenu"), ("0", "Non")],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
    )


class MeetingForm(ScreenedForm):
    """A meeting of the follow-up, logged as an intervention."""

    screened_fields = ("note",)
    started_at = forms.DateTimeField(
        label="Date et heure",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M"],
    )
    duration_minutes = forms.IntegerField(label="Durée (minutes)", min_value=1, max_value=600)
    form = forms.ChoiceField(
        label="Forme",
        choices=[
            ("shuttle", "Navette entre les parties"),
            ("round_table", "Table ronde"),
            ("individual", "Entretien individuel"),
        ],
    )
    people_met = forms.IntegerField(label="Personnes présentes", min_value=1, max_value=500)
    outcome = forms.ModelChoiceField(
        label="Issue de la rencontre", queryset=Outcome.objects.active(), required=False
    )
    note = forms.CharField(
        label="Remarque", max_length=280, required=False, validators=[reject_markup]
    )


#: The activity a follow-up's meeting is logged as, by kind of follow-up.
MEETING_ACTIVITY = {"deferred": "gestion-conflits", "rights": "mise-en-relation"}


def meeting_entry(situation, data: dict, *, structure, author) -> InterventionForm:
    """The logbook entry of a follow-up's meeting (`MeetingForm`'s cleaned data), bound to
    the entry page's own form: the meeting counts in the indicators like any intervention,
    under the same rules. Its place, domain and category are the follow-up's."""
    activity = MEETING_ACTIVITY[situation.kind]
    payload = {
        "service": str(situation.service_id),
        "started_at": timezone.localtime(data["started_at"]).strftime("%Y-%m-%dT%H:%M"),
        "duration_minutes": data["duration_minutes"],
        "commune": situation.commune.code,
        "qpv": situation.qpv.code if situation.qpv_id else "",
        "place_type": "",
        "activity_type": activity,
        "domain": situation.domain.code,
        "situation_category": situation.category.code if situation.category_id else "",
        "origin": "resident",
        "timing": "deferred" if activity == "gestion-conflits" else "",
        "form": data["form"] if activity == "gestion-conflits" else "",
        "people_met": data["people_met"],
        "outcome": data["outcome"].code if data["outcome"] else "",
        "emergency_handoff": "",
        "mediators": [],
        "note": data.get("note") or "",
        "note_confirmed": data.get("text_confirmed"),
    }
    return InterventionForm.from_payload(payload, structure=structure, author=author)


# --- referrals ------------------------------------------------------------------------------


class ReferralForm(ScreenedForm):
    screened_fields = ("request",)
    service = forms.ModelChoiceField(label="Dispositif", queryset=Service.objects.none())
    partner = forms.ModelChoiceField(label="Partenaire", queryset=Organisation.objects.none())
    theme = forms.ModelChoiceField(label="Thème", queryset=RequestTheme.objects.active())
    commune = TerritoryCodeField(level=Level.COMMUNE, label="Commune de la personne")
    person = forms.CharField(
        label="Personne orientée",
        max_length=40,
        help_text="Initiales ou pseudonyme : le partenaire ne voit que cela.",
        validators=[reject_markup],
    )
    request = forms.CharField(
        label="Demande",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Ce dont le partenaire a besoin pour répondre, sans donnée sensible.",
        validators=[reject_markup],
    )
    callback_consent = forms.BooleanField(
        label="La personne accepte que le partenaire la recontacte", required=False
    )
    callback = forms.CharField(
        label="Comment la recontacter",
        max_length=120,
        required=False,
        help_text="Téléphone ou créneau, seulement avec son accord.",
        validators=[reject_markup],
    )

    #: Hidden values the page carries when the referral starts from a record: the view
    #: reads them itself; the form makes sure they name a record of the structure.
    SOURCES = {
        "suivi": (Situation, "Le suivi d'origine est introuvable : repartez de sa page."),
        "intervention": (
            Intervention,
            "L'intervention d'origine est introuvable : repartez de sa page.",
        ),
    }

    def __init__(self, *args, structure, **kwargs):
        super().__init__(*args, **kwargs)
        self.structure = structure
        _service_choices(self, structure)
        self.fields["partner"].queryset = Organisation.objects.filter(
            kind__in=[OrganisationKind.PARTNER, OrganisationKind.BOTH], is_active=True
        ).order_by("name")
        _territory_widgets(self, structure)

    def clean(self):
        data = super().clean()
        if data.get("callback") and not data.get("callback_consent"):
            self.add_error("callback", "Cochez l'accord de la personne pour transmettre ceci.")
        for name, (model, message) in self.SOURCES.items():
            raw = self.data.get(name)
            if raw and not (
                is_uuid(raw) and model.objects.filter(structure=self.structure, pk=raw).exists()
            ):
                self.add_error(None, message)
        if "callback" in self.errors:
            return data
        # A phone number is expected in `callback` when consented: not screened as a leak.
        return data

    def referral_data(self) -> dict:
        data = self.cleaned_data
        out = {name: data.get(name) for name in (
            "service", "partner", "theme", "commune", "person", "request", "callback",
            "callback_consent")}  # fmt: skip
        out["callback"] = out["callback"] or ""
        out["request_warnings"] = self.warnings.get("request", [])
        return out


class ReferralAnswerForm(forms.Form):
    """What a partner answers: accept, refuse (with a reason), or say it is done."""

    status = forms.ChoiceField(
        label="Votre réponse",
        choices=[
            (ReferralStatus.ACCEPTED, "J'accepte : nous prenons en charge la demande"),
            (ReferralStatus.REFUSED, "Je refuse (précisez le motif)"),
            (ReferralStatus.DONE, "C'est fait : la demande a abouti ou est close"),
        ],
        widget=forms.RadioSelect,
    )
    refusal_reason = forms.CharField(
        label="Motif du refus", max_length=300, required=False, validators=[reject_markup]
    )
    result = forms.ChoiceField(
        label="Résultat", choices=[("", "—"), *ReferralResult.choices], required=False
    )
    result_note = forms.CharField(
        label="Commentaire", max_length=300, required=False, validators=[reject_markup]
    )

    def __init__(self, *args, referral, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = {
            ReferralStatus.SENT: {ReferralStatus.ACCEPTED, ReferralStatus.REFUSED},
            ReferralStatus.SEEN: {ReferralStatus.ACCEPTED, ReferralStatus.REFUSED},
            ReferralStatus.ACCEPTED: {ReferralStatus.DONE},
        }.get(referral.status, set())
        self.fields["status"].choices = [
            c for c in self.fields["status"].choices if c[0] in allowed
        ]

    def clean(self):
        data = super().clean()
        if data.get("status") == ReferralStatus.REFUSED and not data.get("refusal_reason"):
            self.add_error("refusal_reason", "Indiquez le motif du refus.")
        if data.get("status") == ReferralStatus.DONE and not data.get("result"):
            self.add_error("result", "Indiquez le résultat.")
        for name in ("refusal_reason", "result_note"):
            findings = screen(data.get(name) or "")
            if findings:
                self.add_error(
                    name,
                    [f.message for f in findings]
                    + ["Ne donnez ni nom ni coordonnée : la structure n'en a pas besoin."],
                )
        return data


# --- dysfunction reports --------------------------------------------------------------------


class ReportForm(ScreenedForm):
    screened_fields = ("description",)
    service = forms.ModelChoiceField(label="Dispositif", queryset=Service.objects.none())
    category = forms.ChoiceField(label="Catégorie", choices=ReportCategory.choices)
    commune = TerritoryCodeField(level=Level.COMMUNE, label="Commune")
    qpv = TerritoryCodeField(level=Level.QPV, label="QPV", required=False)
    place_type = forms.ModelChoiceField(
        label="Type de lieu", queryset=PlaceType.objects.active(), required=False
    )
    address = forms.CharField(
        label="Adresse ou repère", max_length=200, required=False, validators=[reject_markup],
        help_text="Par exemple « 12 rue de Lille, hall B » ou « arrêt Gare, quai 2 ».",
    )  # fmt: skip
    latitude = forms.DecimalField(
        label="Latitude (point sur la carte)", required=False, min_value=-90, max_value=90,
        max_digits=8, decimal_places=5,
    )  # fmt: skip
    longitude = forms.DecimalField(
        label="Longitude", required=False, min_value=-180, max_value=180, max_digits=8,
        decimal_places=5,
    )  # fmt: skip
    description = forms.CharField(
        label="Description",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        validators=[reject_markup],
    )
    photo = forms.FileField(
        label="Photo (facultative)",
        required=False,
        help_text="JPEG, PNG ou WebP, 8 Mo au plus ; la position et les métadonnées sont retirées.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    not_duplicate = forms.BooleanField(
        label="Ce n'est pas le même dysfonctionnement : enregistrer ce signalement",
        required=False,
    )

    def __init__(self, *args, structure, **kwargs):
        super().__init__(*args, **kwargs)
        _service_choices(self, structure)
        _territory_widgets(self, structure)

    def clean_photo(self):
        from lien.followup.photos import clean_photo

        upload = self.cleaned_data.get("photo")
        return clean_photo(upload) if upload else None

    def clean(self):
        data = super().clean()
        _check_qpv(self, data)
        if (data.get("latitude") is None) != (data.get("longitude") is None):
            self.add_error("longitude", "Un point se donne avec sa latitude et sa longitude.")
        return data

    def report_data(self) -> dict:
        data = self.cleaned_data
        out = {name: data.get(name) for name in (
            "service", "category", "commune", "qpv", "place_type", "address", "latitude",
            "longitude", "description")}  # fmt: skip
        out["address"] = out["address"] or ""
        out["description_warnings"] = self.warnings.get("description", [])
        return out


class ReportRouteForm(forms.Form):
    organisation = forms.ModelChoiceField(
        label="Transmettre à", queryset=Organisation.objects.filter(is_active=True)
    )


class ReportAnswerForm(forms.Form):
    status = forms.ChoiceField(
        label="Suite donnée",
        choices=[
            (ReportStatus.ACKNOWLEDGED, "Pris en compte"),
            (ReportStatus.RESOLVED, "Résolu"),
            (ReportStatus.REJECTED, "Rejeté (expliquez pourquoi)"),
        ],
        widget=forms.RadioSelect,
    )
    response = forms.CharField(
        label="Commentaire", max_length=300, required=False, validators=[reject_markup]
    )

    def clean(self):
        data = super().clean()
        if data.get("status") == ReportStatus.REJECTED and not data.get("response"):
            self.add_error("response", "Expliquez pourquoi le signalement est rejeté.")
        return data


class RoutingRuleForm(forms.Form):
    category = forms.ChoiceField(
        label="Catégorie", choices=[("", "Toutes"), *ReportCategory.choices], required=False
    )
    territory = forms.ModelChoiceField(label="Territoire", queryset=Territory.objects.none())
    place_type = forms.ModelChoiceField(
        label="Type de lieu", queryset=PlaceType.objects.active(), required=False,
        empty_label="Tous",
    )  # fmt: skip
    organisation = forms.ModelChoiceField(
        label="Organisme destinataire", queryset=Organisation.objects.filter(is_active=True)
    )

    def __init__(self, *args, structure, **kwargs):
        super().__init__(*args, **kwargs)
        communes, qpvs = local_territories(structure)
        ids = {t.pk for t in communes} | {t.pk for t in qpvs}
        self.fields["territory"].queryset = (
            Territory.objects.filter(
                Q(pk__in=ids)
                | Q(level__in=[Level.EPCI, Level.DEPARTEMENT], descendant_links__descendant__in=ids)
            )
            .distinct()
            .order_by("path")
        )


# --- social watch and collective actions ------------------------------------------------------


class ObservationForm(ScreenedForm):
    screened_fields = ("text",)
    service = forms.ModelChoiceField(label="Dispositif", queryset=Service.objects.none())
    sector = forms.ModelChoiceField(
        label="Secteur (commune ou QPV)", queryset=Territory.objects.none()
    )
    observed_on = forms.DateField(label="Observé le", widget=DateInput())
    level = forms.ChoiceField(label="Niveau", choices=AlertLevel.choices, widget=forms.RadioSelect)
    categories = ModelMultipleChoiceField(
        label="Situations observées", queryset=SituationCategory.objects.active(), required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    text = forms.CharField(
        label="Observation", max_length=600, widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Le climat du secteur, sans nom ni détail qui identifie quelqu'un.",
        validators=[reject_markup],
    )  # fmt: skip
    shared_with = ModelMultipleChoiceField(
        label="Partager avec", queryset=Organisation.objects.filter(is_active=True),
        required=False, widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip

    def __init__(self, *args, structure, **kwargs):
        super().__init__(*args, **kwargs)
        _service_choices(self, structure)
        communes, qpvs = local_territories(structure)
        self.fields["sector"].queryset = Territory.objects.filter(
            pk__in=[t.pk for t in communes + qpvs]
        ).order_by("path")
        self.fields["shared_with"].queryset = (
            Organisation.objects.filter(is_active=True)
            .filter(
                Q(commissioned_services__structure=structure)
                | Q(kind__in=[OrganisationKind.PARTNER, OrganisationKind.BOTH])
            )
            .distinct()
            .order_by("name")
        )


class CollectiveActionForm(ScreenedForm):
    screened_fields = ("notes",)
    service = forms.ModelChoiceField(label="Dispositif", queryset=Service.objects.none())
    kind = forms.ChoiceField(label="Type d'action", choices=CollectiveKind.choices)
    title = forms.CharField(label="Intitulé", max_length=150, validators=[reject_markup])
    held_on = forms.DateField(label="Date", widget=DateInput())
    duration_minutes = forms.IntegerField(label="Durée (minutes)", min_value=1, max_value=1440)
    commune = TerritoryCodeField(level=Level.COMMUNE, label="Commune")
    qpv = TerritoryCodeField(level=Level.QPV, label="QPV", required=False)
    place = forms.CharField(
        label="Lieu", max_length=150, required=False, validators=[reject_markup]
    )
    residents = forms.IntegerField(label="Habitants", min_value=0, max_value=100000, initial=0)
    young_people = forms.IntegerField(
        label="Jeunes, élèves", min_value=0, max_value=100000, initial=0
    )
    professionals = forms.IntegerField(
        label="Professionnels", min_value=0, max_value=100000, initial=0
    )
    institutions = forms.IntegerField(
        label="Élus, institutions", min_value=0, max_value=100000, initial=0
    )
    partners = ModelMultipleChoiceField(
        label="Partenaires", queryset=Organisation.objects.filter(is_active=True), required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    notes = forms.CharField(
        label="Compte rendu", max_length=600, required=False, validators=[reject_markup],
        widget=forms.Textarea(attrs={"rows": 3}),
    )  # fmt: skip

    def __init__(self, *args, structure, **kwargs):
        super().__init__(*args, **kwargs)
        _service_choices(self, structure)
        _territory_widgets(self, structure)

    def clean(self):
        data = super().clean()
        _check_qpv(self, data)
        if not any(data.get(name) for name in CollectiveAction.AUDIENCES) and not self.errors:
            self.add_error("residents", "Indiquez au moins un participant.")
        return data

    def action_data(self) -> dict:
        data = self.cleaned_data
        out = {name: data.get(name) for name in (
            "service", "kind", "title", "held_on", "duration_minutes", "commune", "qpv", "place",
            *CollectiveAction.AUDIENCES, "notes")}  # fmt: skip
        out["place"] = out["place"] or ""
        out["notes"] = out["notes"] or ""
        out["notes_warnings"] = self.warnings.get("notes", [])
        return out
