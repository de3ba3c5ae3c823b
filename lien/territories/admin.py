"""Admin for territories: mostly for reading; the official files are loaded by command.

A hand edit (a new QPV, a corrected parent) goes through the audited admin and then
rebuilds the closure table, so aggregation follows the change at once.
"""

from django.contrib import admin
from django.db import transaction

from lien.core.admin import AuditedModelAdmin
from lien.territories.models import Territory
from lien.territories.services import territory_rebuild_ancestors


@admin.register(Territory)
class TerritoryAdmin(AuditedModelAdmin):
    list_display = ["name", "code", "level", "parent", "population", "is_demo"]
    list_filter = ["level", "is_demo"]
    # Used by the autocomplete widgets of the other admins too; see get_search_results.
    search_fields = ["code", "search_name"]
    list_select_related = ["parent"]
    raw_id_fields = ["parent", "secondary_parents"]
    readonly_fields = ["path"]
    fields = [
        "level",
        "code",
        "name",
        "parent",
        "secondary_parents",
        "path",
        "population",
        "is_demo",
        "geometry",
    ]
    # Counting ~40,000 rows on every list page is wasted work.
    show_full_result_count = False

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        # Accent-insensitive name prefix or code prefix, on every database.
        matching = Territory.objects.search(search_term).values("pk")
        return queryset.filter(pk__in=matching), False

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # The secondary parents are saved here, so the closure is rebuilt only now.
        territory_rebuild_ancestors()

    def delete_model(self, request, obj):
        with transaction.atomic():
            super().delete_model(request, obj)
            territory_rebuild_ancestors()

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for obj in queryset:
                super().delete_model(request, obj)
            territory_rebuild_ancestors()
