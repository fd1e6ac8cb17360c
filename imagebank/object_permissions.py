"""Object permissions through guardian's direct-foreign-key tables, for any model.

Every model whose objects carry permissions (sites today; releases, research groups, grants and
benchmark tasks next) has its own pair of tables, subclasses of guardian's UserObjectPermissionBase
and GroupObjectPermissionBase with a real foreign key, made with `PermissionTable` so that each
table lists the permissions it may hold. `objects_with_permission` filters a queryset of any such
model by one permission, through the user's own rows and their groups' rows, in one query with two
indexed sub-queries (guardian's generic get_objects_for_user does much more work to get there).
"""

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext as _
from guardian.utils import get_group_obj_perms_model, get_user_obj_perms_model


class PermissionTable:
    """Mixin (before guardian's base) for a direct-FK permission table: `allowed_permissions`
    lists the codenames it may hold; a row with any other permission is refused when saved
    (guardian's assign_perm saves through get_or_create, so a misspelt or foreign permission
    fails at once). A plain mixin, not an abstract model, so guardian's Meta stays in force."""

    allowed_permissions: frozenset[str] = frozenset()

    def save(self, *args, **kwargs) -> None:
        self.clean()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        codename = self.permission.codename
        if codename not in self.allowed_permissions:
            raise ValidationError(
                _("The permission “%(permission)s” cannot be held on this kind of object.")
                % {"permission": codename}
            )


def _direct_table(table: type[Model], model: type[Model]) -> type[Model]:
    field = table._meta.get_field("content_object")
    if not field.is_relation or field.related_model is not model:
        raise ImproperlyConfigured(
            f"{model.__name__} has no direct-foreign-key permission table ({table.__name__})"
        )
    return table


def _split(permission: str, model: type[Model]) -> str:
    app_label, _dot, codename = permission.rpartition(".")
    if app_label and app_label != model._meta.app_label:
        raise ValueError(f"{permission} is not a permission of {model._meta.label}")
    return codename


def objects_with_permission(user, permission: str, queryset: QuerySet) -> QuerySet:
    """The objects of `queryset` on which `user` holds `permission` ("app.codename"), directly or
    through a group. Superusers hold every permission; inactive and anonymous users none.
    Global (model-wide) permissions are not consulted: every right here is per object."""
    if not user.is_authenticated or not user.is_active:
        return queryset.none()
    if user.is_superuser:
        return queryset
    model = queryset.model
    codename = _split(permission, model)
    user_table = _direct_table(get_user_obj_perms_model(model), model)
    group_table = _direct_table(get_group_obj_perms_model(model), model)
    if codename not in getattr(user_table, "allowed_permissions", {codename}):
        raise ValueError(f"{model._meta.label} objects never carry {permission}")
    own = user_table.objects.filter(user=user, permission__codename=codename)
    via_groups = group_table.objects.filter(group__user=user, permission__codename=codename)
    return queryset.filter(
        Q(pk__in=own.values("content_object_id")) | Q(pk__in=via_groups.values("content_object_id"))
    )
