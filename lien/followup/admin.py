from django.contrib import admin

from lien.core.admin import AuditedModelAdmin
from lien.followup.models import (
    CollectiveAction,
    Observation,
    Referral,
    RoutingRule,
    Situation,
    TechnicalReport,
)


@admin.register(Situation)
class SituationAdmin(AuditedModelAdmin):
    """No names here: nominative fields are read in the structure's pages (and journaled)."""

    list_display = ("reference", "initials", "structure", "kind", "status", "opened_on", "purge_on")
    list_filter = ("status", "kind")
    search_fields = ("reference",)
    exclude = ("names", "contact")
    readonly_fields = ("reference",)


@admin.register(Referral)
class ReferralAdmin(AuditedModelAdmin):
    list_display = ("person", "partner", "theme", "structure", "status", "sent_at", "expires_on")
    list_filter = ("status",)
    exclude = ("callback", "link_nonce")


@admin.register(TechnicalReport)
class TechnicalReportAdmin(AuditedModelAdmin):
    list_display = ("category", "commune", "structure", "routed_to", "status", "reported_at")
    list_filter = ("status", "category")


@admin.register(RoutingRule)
class RoutingRuleAdmin(AuditedModelAdmin):
    list_display = ("structure", "territory", "category", "place_type", "organisation", "is_active")


@admin.register(Observation)
class ObservationAdmin(AuditedModelAdmin):
    list_display = ("sector", "level", "observed_on", "structure")
    list_filter = ("level",)


@admin.register(CollectiveAction)
class CollectiveActionAdmin(AuditedModelAdmin):
    list_display = ("title", "kind", "held_on", "structure")
