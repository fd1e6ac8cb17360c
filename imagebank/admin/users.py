"""Admin of users and their roles."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.translation import gettext_lazy as _

from imagebank.models import (
    SiteMembership,
    User,
)
from imagebank.roles import registered_roles, role_codes

from .common import ReadOnlyAdminMixin

# --- users -----------------------------------------------------------------------------------


class UserCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("email", "full_name")
        field_classes: dict = {}


class UserEditForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"
        field_classes: dict = {}


class MembershipOfUserInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SiteMembership
    fk_name = "user"
    fields = ("site", "role", "created_at")
    readonly_fields = fields
    extra = 0
    verbose_name = _("site membership")
    verbose_name_plural = _("site memberships (add them from the site membership page)")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Django's user admin with the email address as the login."""

    form = UserEditForm
    add_form = UserCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("full_name", "first_name", "last_name")}),
        (
            _("Permissions"),
            {
                "fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions"),
                "description": _(
                    "Bank-wide roles are the groups %(roles)s. Site contributors get their "
                    "site's group through a site membership, not here."
                )
                % {"roles": ", ".join(role_codes())},
            },
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "full_name", "usable_password", "password1", "password2"),
            },
        ),
    )
    readonly_fields = ("last_login", "date_joined")
    inlines = (MembershipOfUserInline,)
    list_display = ("email", "full_name", "roles", "is_active", "is_staff", "is_superuser")
    list_filter = ("is_active", "is_staff", "is_superuser", "groups")
    search_fields = ("email", "full_name", "first_name", "last_name")
    ordering = ("email",)
    date_hierarchy = "date_joined"

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description=_("roles"))
    def roles(self, user: User) -> str:
        labels = {role.value: str(role.label) for role in registered_roles()}
        return ", ".join(labels[g.name] for g in user.groups.all() if g.name in labels) or "-"
