from django.contrib import admin

from lien.core.admin import AuditedModelAdmin
from lien.logbook.models import AccessRequest, Intervention, Shift


class AccessRequestInline(admin.TabularInline):
    model = AccessRequest
    extra = 0


@admin.register(Intervention)
class InterventionAdmin(AuditedModelAdmin):
    list_display = ["started_at", "structure", "activity_type", "domain", "commune", "outcome"]
    list_filter = ["activity_type", "domain", "source"]
    date_hierarchy = "started_at"
    raw_id_fields = ["structure", "service", "author", "shift", "commune", "qpv"]
    filter_horizontal = ["mediators"]
    inlines = [AccessRequestInline]
    list_select_related = ["structure", "activity_type", "domain", "commune", "outcome"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Shift)
class ShiftAdmin(AuditedModelAdmin):
    list_display = ["starts_at", "kind", "structure", "service", "commune", "place_label"]
    list_filter = ["kind"]
    raw_id_fields = ["structure", "service", "commune", "qpv"]
    filter_horizontal = ["mediators"]
