"""Django admin for superusers. Saves go through the services, so history and audit stay whole."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from campusmedia import services
from campusmedia.models import (
    AccountHistory,
    AuditEvent,
    MediaAccount,
    Person,
    Platform,
    RoleAssignment,
    TeamMember,
    Unit,
    User,
)

ADMIN_SOURCE = "管理后台"


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        *BaseUserAdmin.fieldsets,  # type: ignore[misc]
        (_("密码策略"), {"fields": ("must_change_password", "password_changed_at")}),
    )
    readonly_fields = ("password_changed_at",)


def _actor(request: HttpRequest) -> User:
    return cast(User, request.user)


def _changed_fields(form: Any) -> dict[str, Any]:
    return {name: form.cleaned_data[name] for name in form.changed_data}


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "kind", "duty", "parent", "is_active")
    list_filter = ("kind", "duty", "is_active")
    search_fields = ("name", "code")
    list_select_related = ("parent",)

    def save_model(self, request: HttpRequest, obj: Unit, form: Any, change: bool) -> None:
        if change:
            services.unit_update(
                unit=obj,
                actor=_actor(request),
                request=request,
                **_changed_fields(form),
            )
        else:
            created = services.unit_create(
                actor=_actor(request),
                request=request,
                **form.cleaned_data,
            )
            obj.pk = created.pk


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ("name", "unit", "title", "staff_no")
    search_fields = ("name", "staff_no")
    list_select_related = ("unit",)
    exclude = ("id_number_hmac",)

    def save_model(self, request: HttpRequest, obj: Person, form: Any, change: bool) -> None:
        if change:
            services.person_update(
                person=obj,
                actor=_actor(request),
                request=request,
                **_changed_fields(form),
            )
        else:
            created = services.person_create(
                actor=_actor(request),
                request=request,
                **form.cleaned_data,
            )
            obj.pk = created.pk


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    list_display = ("person", "unit", "role", "starts_on", "ends_on")
    list_filter = ("role",)
    search_fields = ("person__name", "unit__name")
    list_select_related = ("person", "unit")
    autocomplete_fields = ("person", "unit")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # An assignment is never rewritten: it is ended and a new one begins.
        return ("person", "unit", "role", "starts_on") if obj else ()

    def save_model(
        self, request: HttpRequest, obj: RoleAssignment, form: Any, change: bool
    ) -> None:
        if change:
            services.role_end(
                assignment=obj,
                actor=_actor(request),
                request=request,
                ends_on=form.cleaned_data["ends_on"],
            )
        else:
            created = services.role_assign(
                actor=_actor(request),
                request=request,
                **form.cleaned_data,
            )
            obj.pk = created.pk

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TeamMemberInline(admin.TabularInline):
    model = TeamMember
    extra = 0
    can_delete = False
    readonly_fields = ("person", "role", "starts_on", "ends_on")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(MediaAccount)
class MediaAccountAdmin(admin.ModelAdmin):
    list_display = ("name", "platform", "owner_unit", "status", "approval_number")
    list_filter = ("status", "platform")
    search_fields = ("name", "account_id")
    list_select_related = ("platform", "owner_unit")
    autocomplete_fields = ("owner_unit",)
    inlines = [TeamMemberInline]

    def save_model(self, request: HttpRequest, obj: MediaAccount, form: Any, change: bool) -> None:
        if change:
            services.account_update(
                account=obj,
                actor=_actor(request),
                request=request,
                source=ADMIN_SOURCE,
                **_changed_fields(form),
            )
        else:
            created = services.account_create(
                actor=_actor(request),
                request=request,
                source=ADMIN_SOURCE,
                **form.cleaned_data,
            )
            obj.pk = created.pk

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        form.save_m2m()


@admin.register(Platform)
class PlatformAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "sort_order")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AccountHistory)
class AccountHistoryAdmin(ReadOnlyAdmin):
    list_display = ("account", "action", "actor_name", "at", "source")
    list_select_related = ("account",)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = (
        "at",
        "seq",
        "actor_name",
        "action",
        "outcome",
        "ip",
        "object_type",
        "object_repr",
    )
    list_filter = ("action", "outcome")
    # Shown for reading; the chain is checked by manage.py verify_audit (and on /audit/).
    readonly_fields = ("seq", "prev_hash", "hash")
    search_fields = ("actor_name", "object_repr")

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        return super().get_queryset(request)
