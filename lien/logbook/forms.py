"""Validation of an intervention, shared by the entry page and the offline sync endpoint.

Both send the same plain values (codes for vocabularies and territories, ids for the
service, shift and mediators), so one form holds every rule and every message.
"""

import datetime
import time

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext_lazy as _

from lien.core.models import User
from lien.core.screening import screen
from lien.core.validators import reject_markup
from lien.logbook.models import Form, Handoff, Intervention, Origin, Shift, Timing
from lien.referentiel.models import (
    ActivityType,
    Domain,
    Outcome,
    PlaceType,
    RequestTheme,
    SituationCategory,
)
from lien.structures.models import Service, Structure
from lien.territories.models import Level, Territory

#: How far ahead of the server clock a start time may be (phones drift), and how far back.
FUTURE_TOLERANCE = datetime.timedelta(minutes=15)
MAX_AGE = datetime.timedelta(days=366)

#: Optional fields and the "empty" value each has when an activity does not use it.
OPTIONAL_FIELDS = {
    "situation_category": None,
    "timing": "",
    "form": "",
    "outcome": None,
    "emergency_handoff": "",
}


class CheapCopyMixin:
    def __deepcopy__(self, memo):
        # Django clones the queryset of every choice field for every form instance; a
        # batch form resolves choices from `cache` and never runs the queryset.
        queryset, self.queryset = self.queryset, None
        try:
            result = super().__deepcopy__(memo)
        finally:
            self.queryset = queryset
        result.queryset = queryset
        return result


class CachedChoiceMixin(CheapCopyMixin):
    """Resolve a choice from a dict loaded once (`cache`) instead of one query per field.

    A sync batch of 1,000 entries checks ~10 choices each: one dict lookup apiece instead
    of a query. Without a cache the field behaves as Django's.
    """

    cache: dict | None = None

    def to_python(self, value):
        if self.cache is None or value in self.empty_values:
            return super().to_python(value)
        found = self.cache.get(str(value))
        if found is None:
            raise ValidationError(
                self.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": value},
            )
        return found


class CodeChoiceField(CachedChoiceMixin, forms.ModelChoiceField):
    """A vocabulary item chosen by its stable code, with a message that names the code."""

    default_error_messages = {
        "invalid_choice": _("Code inconnu ou inactif : « %(value)s »."),
    }

    def __init__(self, queryset, **kwargs):
        kwargs.setdefault("empty_label", "—")
        super().__init__(queryset=queryset, to_field_name="code", **kwargs)


class CachedModelChoiceField(CachedChoiceMixin, forms.ModelChoiceField):
    default_error_messages = {
        "invalid_choice": _("Choix inconnu pour votre structure : « %(value)s »."),
    }


class CachedModelMultipleChoiceField(CheapCopyMixin, forms.ModelMultipleChoiceField):
    cache: dict | None = None

    def _check_values(self, value):
        if self.cache is None:
            return super()._check_values(value)
        found = []
        for item in value:
            obj = self.cache.get(str(item))
            if obj is None:
                raise ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": item},
                )
            found.append(obj)
        return found


#: How long a process keeps the active vocabularies before reading them again. An item an
#: administrator deactivates may be accepted for this long; nothing else depends on it.
VOCABULARY_TTL = 60.0
_vocabulary_cache: dict = {"loaded_at": -VOCABULARY_TTL, "value": None}


def active_vocabularies() -> tuple[dict, list]:
    """The active items of each vocabulary an entry uses, by code; cached per process."""
    now = time.monotonic()
    if now - _vocabulary_cache["loaded_at"] > VOCABULARY_TTL:
        vocabularies = {
            model: {item.code: item for item in model.objects.active()}
            for model in (ActivityType, Domain, SituationCategory, Outcome, PlaceType)
        }
        _vocabulary_cache["value"] = (vocabularies, list(RequestTheme.objects.active()))
        _vocabulary_cache["loaded_at"] = now
    return _vocabulary_cache["value"]


def forget_vocabularies(**kwargs) -> None:
    """Drop the cache (connected to the référentiel's save signal, and used by tests)."""
    _vocabulary_cache["loaded_at"] = -VOCABULARY_TTL


class EntryLookups:
    """What an entry is checked against, loaded once per page or per sync batch."""

    def __init__(self, structure: Structure, author: User):
        self.structure = structure
        self.vocabularies, self.themes = active_vocabularies()
        self.services = {
            str(s.pk): s for s in Service.objects.filter(structure=structure, is_active=True)
        }
        self.members = {str(u.pk): u for u in structure_members(structure).exclude(pk=author.pk)}
        self._territories: dict[tuple[str, str], Territory | None] = {}
        self._covers: dict[tuple[int, int], bool] = {}

    def territory(self, level: str, code: str) -> Territory | None:
        key = (level, code)
        if key not in self._territories:
            self._territories[key] = Territory.objects.filter(level=level, code=code).first()
        return self._territories[key]

    def qpv_covers(self, qpv: Territory, commune: Territory) -> bool:
        key = (qpv.pk, commune.pk)
        if key not in self._covers:
            self._covers[key] = (
                qpv.parent_id == commune.pk or qpv.secondary_parents.filter(pk=commune.pk).exists()
            )
        return self._covers[key]


class TerritoryCodeField(forms.CharField):
    """A commune or QPV by its code, checked against the database (not a 35,000-row list)."""

    lookups: EntryLookups | None = None

    def __init__(self, *, level: str, **kwargs):
        self.level = level
        super().__init__(max_length=20, **kwargs)

    def clean(self, value):
        code = (super().clean(value) or "").strip().upper()
        if not code:
            return None
        if self.lookups is not None:
            territory = self.lookups.territory(self.level, code)
        else:
            territory = Territory.objects.filter(level=self.level, code=code).first()
        if territory is None:
            label = "Commune" if self.level == Level.COMMUNE else "QPV"
            raise ValidationError(
                _("%(label)s inconnue : « %(code)s »."),
                code="unknown_territory",
                params={"label": label, "code": code},
            )
        return territory


def local_territories(structure: Structure) -> tuple[list[Territory], list[Territory]]:
    """Communes and QPV where the structure works: its services' territories and its seat.

    They fill the entry form's lists; any other real commune or QPV code is still accepted.
    """
    service_territories = Territory.objects.filter(
        services__structure=structure, services__is_active=True
    )
    communes = Territory.objects.communes().filter(
        Q(ancestor_links__ancestor__in=service_territories)
        | Q(pk=structure.commune_id)
        | Q(children__in=service_territories)
        | Q(secondary_children__in=service_territories)
    )
    communes = list(communes.distinct().order_by("name"))
    qpvs = list(
        Territory.objects.qpvs()
        .filter(Q(parent__in=communes) | Q(secondary_parents__in=communes))
        .distinct()
        .order_by("name")
    )
    return communes, qpvs


def structure_members(structure: Structure):
    """Who can appear on an intervention of `structure`: its active mediators, coordinators."""
    return User.objects.of_structure(structure.pk)


class InterventionForm(forms.Form):
    service = CachedModelChoiceField(queryset=Service.objects.none(), label=_("Dispositif"))
    started_at = forms.DateTimeField(
        label=_("Date et heure"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    duration_minutes = forms.IntegerField(
        label=_("Durée (minutes)"), min_value=1, max_value=720, initial=15
    )
    commune = TerritoryCodeField(level=Level.COMMUNE, label=_("Commune"))
    qpv = TerritoryCodeField(level=Level.QPV, label=_("QPV"), required=False)
    place_type = CodeChoiceField(
        PlaceType.objects.active(), label=_("Type de lieu"), required=False
    )
    activity_type = CodeChoiceField(
        ActivityType.objects.active(), label=_("Activité"), widget=forms.RadioSelect
    )
    domain = CodeChoiceField(Domain.objects.active(), label=_("Domaine"), widget=forms.RadioSelect)
    situation_category = CodeChoiceField(
        SituationCategory.objects.active(), label=_("Situation"), required=False
    )
    origin = forms.ChoiceField(label=_("Origine"), choices=Origin.choices, initial=Origin.PATROL)
    timing = forms.ChoiceField(
        label=_("Temporalité"), choices=Timing.choices, required=False, widget=forms.RadioSelect
    )
    form = forms.ChoiceField(
        label=_("Forme"), choices=Form.choices, required=False, widget=forms.RadioSelect
    )
    people_met = forms.IntegerField(
        label=_("Personnes rencontrées"), min_value=0, max_value=5000, initial=1
    )
    outcome = CodeChoiceField(Outcome.objects.active(), label=_("Issue"), required=False)
    emergency_handoff = forms.ChoiceField(
        label=_("Relais d'urgence"), choices=Handoff.choices, required=False
    )
    mediators = CachedModelMultipleChoiceField(
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("En binôme avec"),
        error_messages={"invalid_choice": _("« %(value)s » n'est pas membre de la structure.")},
    )
    shift = CachedModelChoiceField(
        queryset=Shift.objects.none(), required=False, label=_("Tournée ou permanence")
    )
    note = forms.CharField(
        label=_("Remarque (facultative, sans nom)"),
        max_length=280,
        required=False,
        validators=[reject_markup],
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": 280}),
    )
    note_confirmed = forms.BooleanField(
        label=_("Je confirme que cette remarque ne permet pas d'identifier une personne"),
        required=False,
    )

    def __init__(
        self,
        *args,
        structure: Structure,
        author: User,
        lookups: EntryLookups | None = None,
        for_display: bool = True,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.structure = structure
        self.author = author
        self.lookups = lookups or EntryLookups(structure, author)
        self.fields["service"].cache = self.lookups.services
        self.fields["mediators"].cache = self.lookups.members
        self.fields["shift"].queryset = Shift.objects.filter(structure=structure)
        if for_display:
            self.fields["service"].queryset = Service.objects.filter(
                structure=structure, is_active=True
            )
            self.fields["mediators"].queryset = structure_members(structure).exclude(pk=author.pk)
        for name, model in (
            ("activity_type", ActivityType),
            ("domain", Domain),
            ("situation_category", SituationCategory),
            ("outcome", Outcome),
            ("place_type", PlaceType),
        ):
            self.fields[name].cache = self.lookups.vocabularies[model]
        for name in ("commune", "qpv"):
            self.fields[name].lookups = self.lookups
        if for_display:
            communes, qpvs = local_territories(structure)
            self.fields["commune"].widget = forms.Select(
                choices=[("", "—"), *((c.code, c.name) for c in communes)]
            )
            self.fields["qpv"].widget = forms.Select(
                choices=[("", _("Hors QPV")), *((q.code, q.name) for q in qpvs)]
            )
        self.unknown_themes: list[str] = []
        self.not_scalar: list[str] = []
        self.themes = self.lookups.themes
        for theme in self.themes:
            self.fields[f"request_{theme.code}"] = forms.IntegerField(
                label=theme.label, min_value=0, max_value=100, required=False
            )

    @classmethod
    def from_payload(cls, payload: dict, **kwargs) -> "InterventionForm":
        """Bind the form to a JSON entry (sync endpoint, API) as if the page had posted it.

        `mediators` is a list of user ids, `access_requests` a list of {theme, count}.
        """
        data = MultiValueDict()
        not_scalar = []
        for key, value in payload.items():
            if key in {"access_requests", "mediators"}:
                continue
            if isinstance(value, bool):
                value = "on" if value else ""
            elif isinstance(value, list | dict):
                # A page posts strings: a list or an object is refused (see `clean`), never
                # read as text nor dropped as if the field were empty.
                not_scalar.append(key)
                continue
            elif isinstance(value, int | float):
                value = str(value)
            data[key] = "" if value is None else value
        mediators = payload.get("mediators") or []
        data.setlist(
            "mediators",
            [str(m) for m in (mediators if isinstance(mediators, list) else [mediators])],
        )
        requests = payload.get("access_requests") or []
        kwargs.setdefault("for_display", False)
        form = cls(data, **kwargs)
        form.not_scalar = not_scalar
        for item in requests if isinstance(requests, list) else [requests]:
            theme = item.get("theme") if isinstance(item, dict) else item
            if not isinstance(item, dict) or f"request_{theme}" not in form.fields:
                form.unknown_themes.append(str(theme))
                continue
            data[f"request_{theme}"] = item.get("count", 1)
        return form

    # --- field-level rules -----------------------------------------------------------

    def clean_started_at(self):
        value = self.cleaned_data["started_at"]
        now = timezone.now()
        if value > now + FUTURE_TOLERANCE:
            raise ValidationError(_("L'heure est dans le futur : vérifiez la date et l'heure."))
        if value < now - MAX_AGE:
            raise ValidationError(
                _("Date de plus d'un an : une intervention aussi ancienne passe par l'import.")
            )
        return value

    # --- rules across fields ---------------------------------------------------------

    def clean(self):
        data = super().clean()
        activity = data.get("activity_type")
        if activity is not None:
            allowed = set(activity.entry_fields)
            for name, empty in OPTIONAL_FIELDS.items():
                if name not in allowed and data.get(name) not in (empty, None, ""):
                    self.add_error(
                        name,
                        _("Sans objet pour l'activité « %(activity)s ».")
                        % {"activity": activity.label},
                    )
            if "access_requests" not in allowed and any(
                data.get(f"request_{t.code}") for t in self.themes
            ):
                self.add_error(
                    None,
                    _("Les demandes par thème sont sans objet pour l'activité « %(activity)s ».")
                    % {"activity": activity.label},
                )
        for theme in self.unknown_themes:
            self.add_error(None, _("Thème de demande inconnu : « %(theme)s ».") % {"theme": theme})
        for name in self.not_scalar:
            if name in self.fields:  # other keys are ignored, whatever their type
                self.add_error(
                    name, _("Valeur simple attendue (texte ou nombre), pas une liste ni un objet.")
                )

        commune, qpv = data.get("commune"), data.get("qpv")
        if commune and qpv and not self.lookups.qpv_covers(qpv, commune):
            self.add_error(
                "qpv",
                _("Le QPV « %(qpv)s » ne couvre pas la commune « %(commune)s ».")
                % {"qpv": qpv.name, "commune": commune.name},
            )
        service, shift = data.get("service"), data.get("shift")
        if service and shift and shift.service_id != service.pk:
            self.add_error("shift", _("Cette tournée relève d'un autre dispositif."))

        version = self.data.get("version")
        if version is not None and not (str(version).isascii() and str(version).isdigit()):
            # The correction page sends the version it was drawn from (a hidden field).
            self.add_error(
                None,
                _("Version de la saisie illisible : rechargez la page, puis corrigez de nouveau."),
            )

        note = data.get("note", "")
        findings = screen(note) if note else []
        if findings and not data.get("note_confirmed"):
            self.add_error(
                "note",
                ValidationError(
                    [f.message for f in findings]
                    + [_("Reformulez, ou cochez la confirmation pour garder ce texte.")],
                    code="screening",
                ),
            )
        data["note_warnings"] = sorted({f.category for f in findings})
        data["access_requests"] = {
            t: data.get(f"request_{t.code}") for t in self.themes if data.get(f"request_{t.code}")
        }
        return data

    def intervention_data(self) -> dict:
        """The cleaned values in the shape the services take."""
        data = dict(self.cleaned_data)
        for theme in self.themes:
            data.pop(f"request_{theme.code}", None)
        data.pop("note_confirmed", None)
        return data


def last_entry_defaults(*, structure: Structure, author: User) -> dict:
    """Initial values copied from the author's last entry ("répéter la dernière saisie")."""
    last = (
        Intervention.objects.filter(structure=structure, author=author)
        .select_related("commune", "qpv", "place_type", "activity_type", "domain")
        .order_by("-created_at")
        .first()
    )
    if last is None:
        return {}
    return {
        "service": last.service_id,
        "commune": last.commune.code,
        "qpv": last.qpv.code if last.qpv else "",
        "place_type": last.place_type.code if last.place_type else "",
        "activity_type": last.activity_type.code,
        "domain": last.domain.code,
        "mediators": list(last.mediators.exclude(pk=author.pk).values_list("pk", flat=True)),
        "shift": last.shift_id,
    }
