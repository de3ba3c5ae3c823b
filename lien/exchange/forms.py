"""The form that creates a personal API token."""

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lien.exchange import services
from lien.exchange.models import TokenScope

#: Lifetimes offered (days; "" for a token that does not expire).
LIFETIMES = [
    ("30", _("30 jours")),
    ("90", _("90 jours")),
    ("365", _("1 an")),
    ("", _("Sans expiration")),
]


class MembershipChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.get_role_display()} — {obj.scope_label}"


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Nom du jeton"),
        max_length=100,
        help_text=_("Pour le reconnaître : l'outil ou le script qui l'utilise."),
    )
    membership = MembershipChoiceField(
        label=_("Agir en tant que"),
        queryset=None,
        empty_label=None,
        help_text=_("Le jeton ne voit et ne fait que ce que ce rattachement permet."),
    )
    scope = forms.ChoiceField(
        label=_("Portée"),
        choices=TokenScope.choices,
        initial=TokenScope.READ,
        help_text=_(
            "L'écriture (saisies des équipes ; réponses des financeurs et partenaires aux "
            "signalements et orientations) n'est pas ouverte au pilotage ni à l'administration."
        ),
    )
    expires_in = forms.ChoiceField(
        label=_("Durée de validité"), choices=LIFETIMES, initial="90", required=False
    )

    def __init__(self, *args, memberships, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["membership"].queryset = memberships

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Donnez un nom au jeton."))
        return name

    def clean(self):
        data = super().clean()
        membership, scope = data.get("membership"), data.get("scope")
        if membership and scope == TokenScope.WRITE and membership.role not in services.WRITE_ROLES:
            self.add_error(
                "scope",
                _("Ce rattachement ne peut pas écrire par l'API : choisissez la lecture seule."),
            )
        return data

    def expires_at(self) -> datetime.datetime | None:
        days = self.cleaned_data.get("expires_in")
        return timezone.now() + datetime.timedelta(days=int(days)) if days else None
