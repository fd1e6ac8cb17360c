"""What the case service and lifecycle tests share: creating a case, reading a ValidationError's
fields and a case's audit trail, a draft ready to submit, submitting it through the checks."""

from imagebank.models import Case, CaseEvent
from imagebank.services import cases as case_services
from tests.factories import add_core_images, make_case


def create(site, actor, **values) -> Case:
    return case_services.create_case(site=site, actor=actor, local_patient_id="REG-1", **values)


def field_errors(raised) -> dict[str, list[str]]:
    return raised.value.message_dict


def kinds(case) -> list[str]:
    return list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))


def processed_draft(site, contributor) -> Case:
    """A draft with what the default requirements ask for: the details and one processed image
    of each core step."""
    case = make_case(site=site, actor=contributor)
    add_core_images(case, contributor)
    return case


def submit_through_checks(case, actor, capture) -> Case:
    with capture(execute=True):
        case_services.submit_case(case=case, actor=actor)
    case.refresh_from_db()
    return case
