"""factory_boy factories. Sites, memberships and cases go through the services, so the groups and
permissions a test gets are the ones the real code creates.

Sites get the default submission requirements (imagebank.submission): a case from `make_case`
has the clinical details they ask for, and `add_core_images` gives it the images they ask for,
so `make_case` + `add_core_images` is a case that can be submitted. A test about a site that
requires nothing says so: `make_site(submission_requirements=[])`."""

import io

import factory
from django.core.files.uploadedfile import SimpleUploadedFile

from fixtures.synthetic_cervix import render_jpeg
from imagebank.models import User
from imagebank.services import cases as case_services
from imagebank.services import images as image_services
from imagebank.services import sites as site_services
from tests.roles import Role

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


# What the default submission requirements ask of the clinical details.
COMPLETE_DETAILS = {"adequacy": "adequate", "transformation_zone": "type_1"}
CORE_STEPS = ("before_acetic_acid", "after_acetic_acid", "after_lugol")


def make_case(site=None, actor=None, local_patient_id: str = "", **values):
    """A draft with the details the default requirements ask for; pass e.g. `adequacy=""` to
    leave one out."""
    site = site or make_site()
    actor = actor or make_contributor(site)
    make_case.counter = getattr(make_case, "counter", 0) + 1
    return case_services.create_case(
        site=site,
        actor=actor,
        local_patient_id=local_patient_id or f"REG-{make_case.counter:05d}",
        **{**COMPLETE_DETAILS, **values},
    )


def jpeg_upload(step: str = "before_acetic_acid", seed: int = 0, name: str = "image.jpg"):
    return SimpleUploadedFile(name, render_jpeg(step, seed=seed), content_type="image/jpeg")


def add_image(
    case, actor, step: str = "before_acetic_acid", seed: int = 0, size=(640, 480), **kwargs
):
    data = render_jpeg(step, seed=seed, size=size)
    return image_services.add_image(
        case=case,
        actor=actor,
        fileobj=io.BytesIO(data),
        filename=f"{step}-{seed}.jpg",
        step=step,
        **kwargs,
    )


def add_core_images(case, actor, seed: int = 0, steps=CORE_STEPS, size=(160, 120)) -> list:
    """An image of each core step (before and after acetic acid, after Lugol's iodine), processed
    at once as the worker would, so the case can be submitted."""
    from imagebank.tasks import process_image  # tasks import services: import late

    images = []
    for offset, step in enumerate(steps):
        image = add_image(case, actor, step, seed=seed * 10 + offset, size=size)
        process_image(image.pk)
        image.refresh_from_db()
        images.append(image)
    return images
