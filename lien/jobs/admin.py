from django.contrib import admin

from lien.core.admin import AuditedModelAdmin
from lien.jobs.models import (
    Contract,
    Funding,
    Mediator,
    Post,
    PostShare,
    PracticeReview,
    Training,
)


class PostShareInline(admin.TabularInline):
    model = PostShare
    extra = 0
    autocomplete_fields = ["beneficiary"]


@admin.register(Post)
class PostAdmin(AuditedModelAdmin):
    list_display = ("title", "structure", "service", "rome_code", "fte", "status")
    list_filter = ("status", "rome_code")
    search_fields = ("title",)
    inlines = [PostShareInline]


@admin.register(Mediator)
class MediatorAdmin(AuditedModelAdmin):
    """No personal data here (the journal would copy it unmasked): people are recorded and
    named by their structure's coordination, in the jobs pages, where it is masked."""

    list_display = ("__str__", "structure", "qualification_level")
    list_filter = ("qualification_level",)
    exclude = ("first_name", "last_name", "birth_year", "user")

    def has_add_permission(self, request):
        return False


@admin.register(Contract)
class ContractAdmin(AuditedModelAdmin):
    list_display = ("__str__", "post", "contract_type", "starts_on", "ends_on", "fte")
    list_filter = ("contract_type",)


@admin.register(Funding)
class FundingAdmin(AuditedModelAdmin):
    list_display = ("funder", "program", "holder", "amount", "starts_on", "ends_on")
    list_filter = ("program",)


@admin.register(Training)
class TrainingAdmin(AuditedModelAdmin):
    list_display = ("title", "kind", "body", "hours", "starts_on")
    list_filter = ("kind",)


@admin.register(PracticeReview)
class PracticeReviewAdmin(AuditedModelAdmin):
    list_display = ("held_on", "structure", "facilitator", "duration_minutes")
