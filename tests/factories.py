"""factory_boy factories. Sites, memberships and cases go through the services, so the groups and
permissions a test gets are the ones the real code creates."""

import io

import factory
from django.core.files.uploadedfile import SimpleUploadedFile

from fixtures.synthetic_cervix import render_jpeg
from imagebank.models import User
from imagebank.roles import Role
from imagebank.services import cases as case_services
from imagebank.services import images as image_services
from imagebank.services import sites as site_services

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(self, create, extracted, **kwargs):
        if create:
            self.save()


def make_site(slug: str = "", **overrides):
    make_site.counter = getattr(make_site, "counter", 0) + 1
    slug = slug or f"site-{make_site.counter}"
    values = {"name": f"Clinic {slug}", "country": "KE", "clinical_setting": "district_hospital"}
    values.update(overrides)
    return site_services.create_site(slug=slug, **values)


def make_contributor(site=None, **user_fields):
    site = site or make_site()
    user = UserFactory(**user_fields)
    site_services.add_site_member(site=site, user=user)
    return user


def make_user_with_role(role: Role, **user_fields):
    user = UserFactory(**user_fields)
    site_services.grant_role(user=user, role=role)
    return user


def make_case(site=None, actor=None, local_patient_id: str = "", **values):
    site = site or make_site()
    actor = actor or make_contributor(site)
    make_case.counter = getattr(make_case, "counter", 0) + 1
    return case_services.create_case(
        site=site,
        actor=actor,
        local_patient_id=local_patient_id or f"REG-{make_case.counter:05d}",
        **values,
    )


def jpeg_upload(step: str = "before_acetic_acid", seed: int = 0, name: str = "image.jpg"):
    return SimpleUploadedFile(name, render_jpeg(step, seed=seed), content_type="image/jpeg")


def add_image(case, actor, step: str = "before_acetic_acid", seed: int = 0, **kwargs):
    data = render_jpeg(step, seed=seed)
    return image_services.add_image(
        case=case,
        actor=actor,
        fileobj=io.BytesIO(data),
        filename=f"{step}-{seed}.jpg",
        step=step,
        **kwargs,
    )
