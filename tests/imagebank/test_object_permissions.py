"""The generic permission filter over guardian's direct-FK tables, and the tables' allowed lists."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured, ValidationError
from guardian.shortcuts import assign_perm, remove_perm

from imagebank.models import Case, Site, SiteGroupObjectPermission, SiteUserObjectPermission, User
from imagebank.object_permissions import objects_with_permission
from tests.factories import UserFactory, make_contributor, make_site

pytestmark = pytest.mark.django_db


def test_a_group_row_grants_the_permission_on_that_object_only():
    site_a, site_b = make_site(), make_site()
    contributor = make_contributor(site_a)
    visible = objects_with_permission(contributor, "imagebank.view_site_cases", Site.objects.all())
    assert list(visible) == [site_a]
    assert site_b not in visible


def test_a_users_own_row_counts_too_and_removing_it_takes_the_right_away():
    site = make_site()
    user = UserFactory()
    assign_perm("imagebank.contribute_to_site", user, site)
    assert SiteUserObjectPermission.objects.filter(user=user).count() == 1
    assert list(
        objects_with_permission(user, "imagebank.contribute_to_site", Site.objects.all())
    ) == [site]
    remove_perm("imagebank.contribute_to_site", user, site)
    assert not objects_with_permission(user, "contribute_to_site", Site.objects.all()).exists()


def test_one_permission_does_not_imply_another():
    site = make_site()
    user = UserFactory()
    assign_perm("imagebank.view_site_cases", user, site)
    assert not objects_with_permission(
        user, "imagebank.contribute_to_site", Site.objects.all()
    ).exists()


def test_the_filter_keeps_the_querysets_own_conditions():
    site_a, site_b = make_site(country="KE"), make_site(country="SN")
    user = UserFactory()
    group = Group.objects.create(name="both")
    user.groups.add(group)
    assign_perm("imagebank.view_site_cases", group, site_a)
    assign_perm("imagebank.view_site_cases", group, site_b)
    senegal = Site.objects.filter(country="SN")
    assert list(objects_with_permission(user, "imagebank.view_site_cases", senegal)) == [site_b]


def test_superusers_hold_everything_and_inactive_or_anonymous_users_nothing():
    from django.contrib.auth.models import AnonymousUser

    site = make_site()
    root = User.objects.create_superuser("root@example.org", "pw")
    assert list(objects_with_permission(root, "imagebank.view_site_cases", Site.objects.all())) == [
        site
    ]
    former = make_contributor(site)
    former.is_active = False
    former.save()
    for user in (former, AnonymousUser()):
        assert not objects_with_permission(
            user, "imagebank.view_site_cases", Site.objects.all()
        ).exists()


def test_a_table_refuses_a_permission_it_does_not_list():
    site = make_site()
    user = UserFactory()
    with pytest.raises(ValidationError):
        assign_perm("imagebank.change_site", user, site)
    with pytest.raises(ValidationError):
        assign_perm("imagebank.delete_site", site.contributors_group, site)
    assert not SiteGroupObjectPermission.objects.filter(permission__codename="delete_site").exists()


def test_asking_for_a_permission_the_model_never_carries_is_a_programming_error():
    user = UserFactory()
    with pytest.raises(ValueError):
        objects_with_permission(user, "imagebank.change_site", Site.objects.all())
    with pytest.raises(ValueError):
        objects_with_permission(user, "curation.view_site_cases", Site.objects.all())


def test_a_model_without_direct_tables_is_refused():
    with pytest.raises(ImproperlyConfigured):
        objects_with_permission(UserFactory(), "imagebank.view_case", Case.objects.all())
