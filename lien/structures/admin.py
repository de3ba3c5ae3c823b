from django.contrib import admin

from lien.core.admin import AuditedModelAdmin
from lien.structures.models import Organisation, Service, Structure


class ServiceInline(admin.StackedInline):
    model = Service
    extra = 0
    fields = ["name", "stage", "starts_on", "ends_on", "domains", "is_active"]
    show_change_link = True


@admin.register(Structure)
class StructureAdmin(AuditedModelAdmin):
    list_display = ["name", "employer_type", "siret", "commune", "afnor_status", "is_active"]
    list_filter = ["employer_type", "afnor_status", "is_active"]
    search_fields = ["name", "siret", "network"]
    autocomplete_fields = ["commune"]
    inlines = [ServiceInline]
    fieldsets = [
        (None, {"fields": ["name", "employer_type", "siret", "network", "is_active"]}),
        ("Implantation", {"fields": ["commune", "address"]}),
        (
            "Certification AFNOR",
            {"fields": ["afnor_status", "afnor_certified_on", "afnor_next_audit_on"]},
        ),
        ("Règles de saisie", {"fields": ["correction_window_days"]}),
    ]

    def has_delete_permission(self, request, obj=None):
        # A structure owns records and journal lines: deactivate it instead.
        return False


@admin.register(Service)
class ServiceAdmin(AuditedModelAdmin):
    list_display = ["name", "structure", "stage", "starts_on", "ends_on", "is_active"]
    list_filter = ["stage", "domains", "is_active"]
    search_fields = ["name", "structure__name"]
    autocomplete_fields = ["structure", "territories", "commissioning_bodies"]
    filter_horizontal = ["domains"]


@admin.register(Organisation)
class OrganisationAdmin(AuditedModelAdmin):
    list_display = ["name", "kind", "partner_type", "funding_program", "territory", "is_active"]
    list_filter = ["kind", "partner_type", "funding_program", "is_active"]
    search_fields = ["name", "siret"]
    autocomplete_fields = ["territory"]
