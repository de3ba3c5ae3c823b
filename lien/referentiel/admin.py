from django.contrib import admin

from lien.core.admin import AuditedModelAdmin
from lien.referentiel.models import REFERENCE_MODELS, Outcome


class ReferenceItemAdmin(AuditedModelAdmin):
    list_display = ["label", "code", "position", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["label", "code"]

    def get_readonly_fields(self, request, obj=None):
        # Codes are what imports, the API and indicators refer to: fixed once created.
        return ["code"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        # Deactivate instead: past records keep pointing at the item.
        return False


class OutcomeAdmin(ReferenceItemAdmin):
    list_display = ["label", "code", "family", "position", "is_active"]
    list_filter = ["family", "is_active"]


for _model in REFERENCE_MODELS.values():
    admin.site.register(_model, OutcomeAdmin if _model is Outcome else ReferenceItemAdmin)
