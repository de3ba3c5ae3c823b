from django.contrib import admin

from lien.core.admin import AuditedModelAdmin
from lien.steering.models import (
    AgreementTarget,
    Decision,
    Experiment,
    FrameworkAgreement,
    Report,
    SteeringMeeting,
)


class AgreementTargetInline(admin.TabularInline):
    model = AgreementTarget
    extra = 0


@admin.register(FrameworkAgreement)
class FrameworkAgreementAdmin(AuditedModelAdmin):
    list_display = ("title", "territory", "starts_on", "ends_on", "job_target")
    search_fields = ("title",)
    raw_id_fields = ("territory",)
    inlines = [AgreementTargetInline]


@admin.register(Experiment)
class ExperimentAdmin(AuditedModelAdmin):
    list_display = ("name", "agreement", "site", "pooling_model", "status")
    list_filter = ("status", "pooling_model")
    raw_id_fields = ("territory",)


class DecisionInline(admin.TabularInline):
    model = Decision
    extra = 0


@admin.register(SteeringMeeting)
class SteeringMeetingAdmin(AuditedModelAdmin):
    list_display = ("held_on", "kind", "agreement")
    list_filter = ("kind",)
    inlines = [DecisionInline]


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ("kind", "start", "end", "territory", "service", "state", "created_at")
    list_filter = ("kind", "state")
    readonly_fields = [f.name for f in Report._meta.fields]

    def has_add_permission(self, request):
        return False
