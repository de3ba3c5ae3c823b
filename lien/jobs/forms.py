"""Forms of the jobs pages. Choices are limited to the structure's own records."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from lien.core.forms import ModelMultipleChoiceField
from lien.core.models import Role, User
from lien.core.validators import reject_markup
from lien.jobs.models import Contract, Funding, Mediator, Post, PracticeReview, Training
from lien.referentiel.models import ContractType, FundingProgram, ProjectStage
from lien.structures.forms import DateInput
from lien.structures.models import Organisation, Service, Structure
from lien.structures.validators import validate_siret

#: How many beneficiary rows the pooled-post form offers.
SHARE_ROWS = 5


class PostForm(forms.ModelForm):
    class Meta:
        model = Post
        fields = ["title", "rome_code", "service", "fte", "status"]

    def __init__(self, *args, structure: Structure, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["title"].validators.append(reject_markup)
        self.fields["service"].queryset = Service.objects.filter(structure=structure).order_by(
            "name"
        )


class PostSharesForm(forms.Form):
    """Up to SHARE_ROWS beneficiary structures (by SIRET) and their share of time."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for row in range(1, SHARE_ROWS + 1):
            self.fields[f"siret_{row}"] = forms.CharField(
                label=_("SIRET de la structure bénéficiaire %(n)s") % {"n": row},
                max_length=14,
                required=False,
                validators=[reject_markup],
            )
            self.fields[f"share_{row}"] = forms.DecimalField(
                label=_("Part du temps %(n)s (%%)") % {"n": row},
                max_digits=5,
                decimal_places=2,
                min_value=Decimal("0.01"),
                max_value=Decimal("100"),
                required=False,
            )

    def clean(self):
        data = super().clean()
        self.shares: list[tuple[Structure, Decimal]] = []
        sirets = {}
        for row in range(1, SHARE_ROWS + 1):
            siret_field, share_field = f"siret_{row}", f"share_{row}"
            if siret_field in self.errors or share_field in self.errors:
                continue
            siret = (data.get(siret_field) or "").replace(" ", "")
            share = data.get(share_field)
            if not siret and share is None:
                continue
            if not siret:
                self.add_error(siret_field, _("Indiquez le SIRET de la structure bénéficiaire."))
                continue
            try:
                validate_siret(siret)
            except forms.ValidationError as exc:
                self.add_error(siret_field, exc)
                continue
            sirets[row] = siret
            if share is None:
                self.add_error(share_field, _("Indiquez la part du temps de cette structure."))
        found = {
            s.siret: s for s in Structure.objects.filter(siret__in=sirets.values(), is_active=True)
        }
        for row, siret in sirets.items():
            structure = found.get(siret)
            if structure is None:
                self.add_error(f"siret_{row}", _("Aucune structure active n'a ce SIRET."))
            elif data.get(f"share_{row}") is not None:
                self.shares.append((structure, data[f"share_{row}"]))
        if not self.errors and self.shares:
            total = sum((share for _, share in self.shares), Decimal("0"))
            if total != Decimal("100"):
                self.add_error(
                    None,
                    _("Les parts d'un poste mutualisé font 100 %% au total (ici : %(total)s %%).")
                    % {"total": f"{total.normalize():f}"},
                )
        return data


class MediatorChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.full_name


class MediatorForm(forms.ModelForm):
    class Meta:
        model = Mediator
        fields = ["first_name", "last_name", "user", "birth_year", "qualification_level"]

    def __init__(self, *args, structure: Structure, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["first_name"].validators.append(reject_markup)
        self.fields["last_name"].validators.append(reject_markup)
        self.fields["user"].queryset = (
            User.objects.filter(
                is_active=True,
                memberships__structure=structure,
                memberships__is_active=True,
                memberships__role__in=(Role.MEDIATOR, Role.COORDINATOR),
            )
            .distinct()
            .order_by("full_name", "email")
        )
        self.fields["user"].help_text = _("Le compte de la personne dans Lien, s'il existe.")


class ContractForm(forms.ModelForm):
    mediator = MediatorChoiceField(label=_("Personne"), queryset=Mediator.objects.none())

    class Meta:
        model = Contract
        fields = [
            "mediator",
            "contract_type",
            "starts_on",
            "ends_on",
            "fte",
            "agreement_starts_on",
            "agreement_ends_on",
            "end_reason",
            "exit_outcome",
        ]
        widgets = {
            "starts_on": DateInput(),
            "ends_on": DateInput(),
            "agreement_starts_on": DateInput(),
            "agreement_ends_on": DateInput(),
        }
        help_texts = {
            "agreement_starts_on": _("Contrat adulte-relais : la convention de 3 ans au plus."),
        }

    def __init__(self, *args, structure: Structure, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mediator"].queryset = Mediator.objects.filter(structure=structure)
        self.fields["contract_type"].queryset = ContractType.objects.active()


class FundingForm(forms.ModelForm):
    """A funding line; its object is a post, a service, or (neither) the whole structure."""

    class Meta:
        model = Funding
        fields = [
            "funder",
            "program",
            "amount",
            "starts_on",
            "ends_on",
            "post",
            "service",
            "stage",
            "share",
        ]
        widgets = {"starts_on": DateInput(), "ends_on": DateInput()}
        help_texts = {
            "post": _("Laissez poste et dispositif vides pour financer la structure entière."),
        }

    def __init__(self, *args, structure: Structure, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["funder"].queryset = Organisation.objects.funders().filter(is_active=True)
        self.fields["program"].queryset = FundingProgram.objects.active()
        self.fields["stage"].queryset = ProjectStage.objects.active()
        self.fields["post"].queryset = Post.objects.filter(structure=structure)
        self.fields["service"].queryset = Service.objects.filter(structure=structure)
        self.structure = structure

    def clean(self):
        data = super().clean()
        if data.get("post") and data.get("service"):
            self.add_error(
                "service",
                _(
                    "Un financement porte sur un seul objet : choisissez un poste ou un "
                    "dispositif, pas les deux."
                ),
            )
        starts, ends = data.get("starts_on"), data.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", _("La fin de la période doit suivre son début."))
        return data

    def funding_data(self) -> dict:
        data = {name: self.cleaned_data.get(name) for name in self.Meta.fields}
        data["structure"] = None if data["post"] or data["service"] else self.structure
        return data

    def _post_clean(self):
        # The model's rules (one object) run in the service, where the holder is known.
        pass


class MediatorMultipleChoiceField(ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return obj.full_name


class TrainingForm(forms.ModelForm):
    mediator = MediatorChoiceField(label=_("Personne"), queryset=Mediator.objects.none())

    class Meta:
        model = Training
        fields = [
            "mediator",
            "kind",
            "title",
            "body",
            "hours",
            "starts_on",
            "ends_on",
            "qualification_obtained",
        ]
        widgets = {"starts_on": DateInput(), "ends_on": DateInput()}

    def __init__(self, *args, structure: Structure, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mediator"].queryset = Mediator.objects.filter(structure=structure)
        for name in ("title", "body", "qualification_obtained"):
            self.fields[name].validators.append(reject_markup)


class PracticeReviewForm(forms.ModelForm):
    attendees = MediatorMultipleChoiceField(
        label=_("Participant·es"),
        queryset=Mediator.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = PracticeReview
        fields = ["held_on", "facilitator", "duration_minutes", "attendees"]
        widgets = {"held_on": DateInput()}

    def __init__(self, *args, structure: Structure, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attendees"].queryset = Mediator.objects.filter(structure=structure)
        self.fields["facilitator"].validators.append(reject_markup)
