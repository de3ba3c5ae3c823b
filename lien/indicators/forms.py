"""The dashboard filters: period, comparison, territory, service, domain, activity, type.

A GET form: a bad value never breaks the page, it is named next to its field and the
default is used instead. Choices depend on the viewer: a funder chooses among the services
it commissions, steering among the territories of its scope.
"""

import datetime

from django import forms
from django.db.models import Q
from django.utils import timezone

from lien.core.models import Role
from lien.indicators.dashboards import MAX_CUSTOM_MONTHS, PERIOD_KINDS, Period
from lien.referentiel.models import ActivityType, Domain, EmployerType
from lien.structures.models import Service
from lien.territories.models import LEVEL_DEPTH, Level, Territory


class MonthField(forms.CharField):
    """A month as YYYY-MM (what `<input type="month">` sends)."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "AAAA-MM"})
    default_error_messages = {"invalid": "Mois attendu au format AAAA-MM, par exemple 2026-03."}

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        try:
            year, month = (int(part) for part in value.strip().split("-"))
            parsed = datetime.date(year, month, 1)
        except (ValueError, OverflowError):  # a year of 20 digits overflows `date`
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        if not 2000 <= parsed.year <= 2100:
            raise forms.ValidationError("Mois hors des années 2000 à 2100.", code="range")
        return parsed


class DashboardFilterForm(forms.Form):
    periode = forms.ChoiceField(
        label="Période",
        choices=[(code, label) for code, (label, _) in PERIOD_KINDS.items()],
        required=False,
    )
    date = MonthField(
        label="Mois de référence", required=False, help_text="La période qui contient ce mois."
    )
    debut = MonthField(label="Du mois (période libre)", required=False)
    fin = MonthField(label="Au mois (période libre)", required=False)
    comparer = forms.ChoiceField(
        label="Comparaison",
        choices=[("1", "avec la période précédente"), ("0", "aucune")],
        required=False,
    )
    territoire = forms.TypedChoiceField(
        label="Territoire", coerce=int, required=False, empty_value=None
    )
    service = forms.ChoiceField(label="Dispositif", required=False)
    domaine = forms.ChoiceField(label="Domaine", required=False)
    activite = forms.ChoiceField(label="Activité", required=False)
    type_structure = forms.ChoiceField(label="Type de structure", required=False)

    def __init__(self, data, *, membership, today: datetime.date | None = None):
        super().__init__(data)
        self.membership = membership
        self.today = today or timezone.localdate()
        role = membership.role
        self.fields["domaine"].choices = [
            ("", "Tous"),
            *Domain.objects.order_by("position", "label").values_list("code", "label"),
        ]
        self.fields["activite"].choices = [
            ("", "Toutes"),
            *ActivityType.objects.order_by("position", "label").values_list("code", "label"),
        ]
        services = self._services()
        if services is None:
            del self.fields["service"]
        else:
            self.fields["service"].choices = [("", "Tous")] + [
                (str(pk), name) for pk, name in services
            ]
        if role in (Role.FUNDER, Role.STEERING, Role.ADMIN):
            self.fields["type_structure"].choices = [
                ("", "Tous"),
                *EmployerType.objects.order_by("position", "label").values_list("code", "label"),
            ]
        else:
            del self.fields["type_structure"]
        self.fields["territoire"].choices = [("", self._all_territories_label())] + [
            (t.pk, label) for t, label in self._territories()
        ]

    # --- choices ---------------------------------------------------------------------------

    def _services(self):
        m = self.membership
        if m.role in (Role.COORDINATOR, Role.MEDIATOR):
            qs = Service.objects.filter(structure_id=m.structure_id)
        elif m.role == Role.FUNDER:
            qs = Service.objects.filter(commissioning_bodies=m.organisation_id)
        else:
            return None  # steering and admins filter by territory and type of structure
        return list(qs.order_by("name").values_list("pk", "name").distinct())

    def _all_territories_label(self) -> str:
        if self.membership.role == Role.STEERING:
            return f"{self.membership.territory.name} (tout le périmètre)"
        return "Tous"

    def _territories(self) -> list[tuple[Territory, str]]:
        """Steering: its scope down to the EPCI; others: the départements and communes where
        their services work. The territory chosen by a drill-down link is added."""
        m = self.membership
        if m.role == Role.STEERING:
            qs = Territory.objects.filter(
                ancestor_links__ancestor=m.territory,
                level__in=[Level.REGION, Level.DEPARTEMENT, Level.EPCI],
            )
        elif m.role == Role.ADMIN:
            qs = Territory.objects.filter(level__in=[Level.REGION, Level.DEPARTEMENT])
        else:
            services = Service.objects.filter(pk__in=[pk for pk, _ in self._services() or []])
            communes = Territory.objects.filter(
                Q(services__in=services) | Q(ancestor_links__ancestor__services__in=services),
                level__in=[Level.COMMUNE, Level.QPV],
            ).values("pk")
            qs = Territory.objects.filter(
                Q(pk__in=communes)
                | Q(level=Level.DEPARTEMENT, descendant_links__descendant__in=communes)
            )
        chosen = self.data.get("territoire")
        if chosen and str(chosen).isdigit():
            qs = qs | Territory.objects.filter(pk=int(chosen))
        territories = list(qs.distinct().order_by("path"))
        return [
            (t, "· " * LEVEL_DEPTH[t.level] + f"{t.name} ({t.get_level_display()})")
            for t in territories
        ]

    # --- cleaned values with defaults --------------------------------------------------------

    def period(self) -> Period:
        data = self.cleaned_data if self.is_bound and hasattr(self, "cleaned_data") else {}
        kind = data.get("periode") or "annee"
        reference = data.get("date") or self.today.replace(day=1)
        if kind == "perso":
            start = data.get("debut") or reference
            end = data.get("fin") or start
            return Period("perso", start, end)
        return Period.containing(kind, reference)

    def clean(self):
        data = super().clean()
        if data.get("periode") == "perso":
            start, end = data.get("debut"), data.get("fin")
            if not start:
                self.add_error("debut", "Indiquez le premier mois de la période libre.")
            if start and end and end < start:
                self.add_error("fin", "Le dernier mois précède le premier.")
            elif start and end:
                months = (end.year - start.year) * 12 + end.month - start.month + 1
                if months > MAX_CUSTOM_MONTHS:
                    self.add_error(
                        "fin", f"Une période libre compte au plus {MAX_CUSTOM_MONTHS} mois."
                    )
        return data

    def choices(self) -> dict:
        """What narrows the perimeter (valid values only)."""
        data = self.cleaned_data
        territory = None
        if data.get("territoire"):
            territory = Territory.objects.filter(pk=data["territoire"]).first()
        return {
            "territory": territory,
            "services": [data["service"]] if data.get("service") else None,
            "domains": [data["domaine"]] if data.get("domaine") else (),
            "activities": [data["activite"]] if data.get("activite") else (),
            "employer_type": data.get("type_structure") or "",
        }

    @property
    def compare(self) -> bool:
        return (self.cleaned_data.get("comparer") or "1") == "1"
