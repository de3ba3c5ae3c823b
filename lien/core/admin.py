"""Admin for accounts and the journal, and the audited base class every admin uses."""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from lien.core import accounts, audit
from lien.core.models import AuditEvent, Membership, Role, User


def _actor(request):
    membership = getattr(request, "membership", None)
    return membership if membership is not None and membership.role == Role.ADMIN else None


class AuditedModelAdmin(admin.ModelAdmin):
    """Every create, change and delete made in the admin lands in the audit journal.

    Django's admin runs the change and delete views in a transaction, so the journal line
    commits with the change it records.
    """

    def save_model(self, request, obj, form, change):
        obj._audit_before = (
            audit.snapshot(type(obj)._default_manager.get(pk=obj.pk)) if change else None
        )
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        obj = form.instance
        before = getattr(obj, "_audit_before", None)
        if change and before is not None:
            audit.record_update(actor=_actor(request), user=request.user, obj=obj, before=before)
        else:
            audit.record_create(actor=_actor(request), user=request.user, obj=obj)

    def delete_model(self, request, obj):
        with transaction.atomic():
            before = audit.snapshot(obj)
            audit.record_delete(actor=_actor(request), user=request.user, obj=obj, before=before)
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for obj in queryset:
                self.delete_model(request, obj)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["role", "structure", "organisation", "territory", "is_active", "created_at"]
    readonly_fields = ["created_at"]
    autocomplete_fields = ["structure", "organisation", "territory"]


class UserAddForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["email", "full_name"]


@admin.register(User)
class UserAdmin(AuditedModelAdmin, DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_staff", "last_login"]
    list_filter = ["is_active", "is_staff", "memberships__role"]
    search_fields = ["email", "full_name"]
    inlines = [MembershipInline]
    fieldsets = [
        (None, {"fields": ["email", "full_name"]}),
        (_("Accès"), {"fields": ["is_active", "is_staff", "is_superuser"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_form = UserAddForm
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "full_name"]})]
    readonly_fields = ["last_login", "date_joined"]

    actions = ["reset_second_factor", "end_sessions"]

    def user_change_password(self, request, id, form_url=""):
        # No administrator-set password: send an invitation (password link) instead.
        raise PermissionDenied(
            "Un mot de passe n'est jamais choisi par l'administration : la personne le "
            "choisit depuis le lien d'invitation ou « Mot de passe oublié »."
        )

    def save_model(self, request, obj, form, change):
        if not change:
            # No administrator-set password: the person sets it from the invitation link.
            obj.set_unusable_password()
        super().save_model(request, obj, form, change)
        if not change:
            accounts.invitation_send_new_account(user=obj, by=request.user)
            self.message_user(request, _("Invitation envoyée à %(email)s.") % {"email": obj.email})

    @admin.action(description=_("Réinitialiser la double authentification"))
    def reset_second_factor(self, request, queryset):
        for user in queryset:
            accounts.two_factor_reset(user=user, by=request.user)
        self.message_user(
            request, _("Second facteur réinitialisé pour %(n)s compte(s).") % {"n": len(queryset)}
        )

    @admin.action(description=_("Fermer toutes les sessions"))
    def end_sessions(self, request, queryset):
        for user in queryset:
            accounts.sessions_end_all(user=user)
        self.message_user(
            request, _("Sessions fermées pour %(n)s compte(s).") % {"n": len(queryset)}
        )


@admin.register(Membership)
class MembershipAdmin(AuditedModelAdmin):
    list_display = ["user", "role", "structure", "organisation", "territory", "is_active"]
    list_filter = ["role", "is_active"]
    search_fields = ["user__email", "structure__name", "organisation__name"]
    autocomplete_fields = ["user", "structure", "organisation", "territory"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the journal has no add, change or delete path, here or anywhere."""

    list_display = ["at", "actor_email", "actor_role", "action", "object_type", "object_repr"]
    list_filter = ["action", "actor_role", "object_type"]
    search_fields = ["actor_email", "object_id", "object_repr", "note"]
    date_hierarchy = "at"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
