from django.contrib import admin

from lien.core.admin import AuditedModelAdmin
from lien.indicators.engine import MEASURES
from lien.indicators.models import IndicatorDefinition, IndicatorTarget


class IndicatorTargetInline(admin.TabularInline):
    model = IndicatorTarget
    extra = 0
    raw_id_fields = ["service"]


@admin.register(IndicatorDefinition)
class IndicatorDefinitionAdmin(AuditedModelAdmin):
    list_display = [
        "label",
        "code",
        "family",
        "level",
        "unit",
        "numerator",
        "denominator",
        "is_active",
    ]
    list_filter = ["family", "level", "register", "is_active"]
    search_fields = ["label", "code"]
    inlines = [IndicatorTargetInline]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        available = "; ".join(
            f"{m.code} ({m.label}{'' if m.cube else f', source : {m.source}'})"
            for m in MEASURES.values()
        )
        for name in ("numerator", "denominator"):
            form.base_fields[name].help_text = f"Mesures disponibles : {available}."
        for name in ("numerator_filters", "denominator_filters"):
            form.base_fields[name].help_text = (
                'Par exemple {"activity": ["gestion-conflits"], "timing": ["real_time"]}. '
                "Filtres : activity, domain, outcome, situation, theme (codes du référentiel), "
                "outcome_family, timing, in_qpv, has_outcome."
            )
        return form
