"""Form fields shared by the apps."""

from django import forms
from django.core.exceptions import ValidationError
from django.db import connection, models

from lien.core.screening import screen


class ModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Django's field, refusing ids out of the column's range before the query.

    Django guards `pk=…` lookups against out-of-range integers but not `pk__in=…`, and
    SQLite's driver raises OverflowError on a number beyond 64 bits ("99999999999999999999"
    in a checkbox value): the answer would be a 500 instead of "choix invalide".
    """

    def _check_values(self, value):
        opts = self.queryset.model._meta
        key = opts.get_field(self.to_field_name) if self.to_field_name else opts.pk
        if isinstance(key, models.IntegerField):
            low, high = connection.ops.integer_field_range(key.get_internal_type())
            for item in value:
                try:
                    number = int(str(item).strip())
                except ValueError:
                    continue  # not a number: Django refuses it as it is
                if (low is not None and number < low) or (high is not None and number > high):
                    raise ValidationError(
                        self.error_messages["invalid_choice"],
                        code="invalid_choice",
                        params={"value": item},
                    )
        return super()._check_values(value)


def apply_service(form, call):
    """Run a service call for a valid form; the model's errors go back onto the form (on
    their field when the form has it, else on the whole form). None when refused."""
    try:
        return call()
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for name, messages in exc.message_dict.items():
                target = name if name in form.fields else None
                for message in messages:
                    form.add_error(target, message)
        else:
            for message in exc.messages:
                form.add_error(None, message)
        return None


def form_page(request, form, *, title, cancel_url, intro=""):
    """The shared page of one form (templates/form_page.html): errors summary, fields,
    save and cancel."""
    from django.shortcuts import render

    return render(
        request,
        "form_page.html",
        {"form": form, "title": title, "intro": intro, "cancel_url": cancel_url},
    )


class ScreenedForm(forms.Form):
    """Screens `screened_fields`; a flagged text needs `text_confirmed`."""

    screened_fields: tuple[str, ...] = ()
    text_confirmed = forms.BooleanField(
        label="Je confirme ce texte : il ne contient pas de donnée qui identifie une personne "
        "ni de donnée sensible inutile.",
        required=False,
    )

    def clean(self):
        data = super().clean()
        self.warnings: dict[str, list[str]] = {}
        for name in self.screened_fields:
            findings = screen(data.get(name) or "")
            self.warnings[name] = sorted({f.category for f in findings})
            if findings and not data.get("text_confirmed"):
                self.add_error(
                    name,
                    [f.message for f in findings]
                    + ["Reformulez, ou cochez la confirmation pour garder ce texte."],
                )
        return data
