"""The runner of the automated checks: one result per image, check and version; a check that
crashes is an `error` for that image and the others still run; the case reaches review."""

import botocore.exceptions
import pytest

from curation.checks import registry, thresholds
from curation.checks.case_checks import required_steps
from curation.checks.registry import Check, Finding
from curation.models import CheckResult, CheckThreshold, Verdict
from curation.services.checks import run_case_checks
from imagebank.lifecycle import CaseState
from imagebank.models import TaskFailure
from tests.factories import add_core_images, make_case, make_contributor, make_site
from tests.imagebank.case_support import submit_through_checks

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_storage")]


@pytest.fixture
def only_checks(monkeypatch):
    """Replace the registered checks by the given ones for one test."""

    def install(*checks: Check) -> None:
        monkeypatch.setattr(registry, "_checks", {check.name: check for check in checks})

    return install


def measured(value: float):
    def run(ctx) -> Finding:
        return Finding(verdict="pass", detail="fine", value=value, threshold=1.0)

    return run


def crashes(ctx) -> Finding:
    raise ZeroDivisionError("a bug in the check")


@pytest.fixture
def case_with_images():
    site = make_site()
    contributor = make_contributor(site)
    case = make_case(site=site, actor=contributor)
    add_core_images(case, contributor)
    return case, contributor


def test_one_result_per_image_check_and_version_and_none_added_on_a_second_run(
    case_with_images, only_checks
):
    case, _ = case_with_images
    only_checks(
        Check("size", "1", "image", measured(3.0)),
        Check("whole", "1", "case", lambda ctx: Finding("pass", "ok", value=len(ctx.images))),
    )
    first = run_case_checks(case)
    assert first.written == 4 and first.skipped == 0
    assert CheckResult.objects.filter(case=case, check_name="size").count() == 3
    whole = CheckResult.objects.get(case=case, image=None)
    assert whole.value == 3 and whole.verdict == Verdict.PASS

    second = run_case_checks(case)
    assert second.written == 0 and second.skipped == 4
    assert CheckResult.objects.filter(case=case).count() == 4

    # --force runs them again, replacing the rows; a new version adds its own.
    assert run_case_checks(case, force=True).written == 4
    only_checks(Check("size", "2", "image", measured(4.0)))
    run_case_checks(case)
    assert CheckResult.objects.filter(case=case, check_name="size").count() == 6


def test_a_check_that_crashes_is_an_error_for_that_image_and_the_others_still_run(
    case_with_images, only_checks, django_capture_on_commit_callbacks
):
    case, contributor = case_with_images
    only_checks(
        Check("before", "1", "image", measured(1.0)),
        Check("broken", "1", "image", crashes),
        Check("after", "1", "image", measured(2.0)),
    )
    case = submit_through_checks(case, contributor, django_capture_on_commit_callbacks)
    assert case.state == CaseState.IN_REVIEW
    broken = CheckResult.objects.filter(case=case, check_name="broken")
    assert broken.count() == 3 and {r.verdict for r in broken} == {Verdict.ERROR}
    assert "ZeroDivisionError" in broken.first().detail
    assert CheckResult.objects.filter(case=case, check_name="after").count() == 3


def test_an_outage_during_a_check_is_raised_for_the_task_to_retry(case_with_images, only_checks):
    case, _ = case_with_images

    def storage_out(ctx):
        raise botocore.exceptions.EndpointConnectionError(endpoint_url="http://s3")

    only_checks(Check("stored", "1", "image", storage_out))
    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        run_case_checks(case)
    assert not CheckResult.objects.filter(case=case).exists()


def test_a_hook_that_crashes_does_not_hold_the_case_back(
    case_with_images, monkeypatch, django_capture_on_commit_callbacks
):
    from imagebank import hooks

    def broken_hook(case):
        raise RuntimeError("a bug in an app's hook")

    monkeypatch.setattr(hooks, "_quality_checks", [broken_hook])
    case, contributor = case_with_images
    case = submit_through_checks(case, contributor, django_capture_on_commit_callbacks)
    assert case.state == CaseState.IN_REVIEW
    assert TaskFailure.objects.get().error_type == "RuntimeError"


def test_the_checks_task_runs_on_the_curation_queue():
    from config.celery import app

    route = app.amqp.router.route({}, "imagebank.tasks.run_quality_checks")
    assert route["queue"].name == "curation"


# --- sequence_complete --------------------------------------------------------------------------


def test_a_sequence_without_lugol_is_flagged_failed_where_the_site_requires_it(only_checks):
    only_checks(registry.get("sequence_complete"))
    site = make_site()
    contributor = make_contributor(site)
    case = make_case(site=site, actor=contributor)
    add_core_images(case, contributor, steps=("before_acetic_acid", "after_acetic_acid"))
    run_case_checks(case)
    result = CheckResult.objects.get(case=case, check_name="sequence_complete")
    assert result.verdict == Verdict.FAIL and result.value == 1
    assert result.extra["missing"] == ["after_lugol"]
    assert "Lugol" in result.detail


def test_a_site_that_requires_no_steps_is_only_warned(only_checks):
    only_checks(registry.get("sequence_complete"))
    site = make_site()
    site.submission_requirements = ["adequacy"]
    site.save()
    contributor = make_contributor(site)
    case = make_case(site=site, actor=contributor)
    add_core_images(case, contributor, steps=("after_acetic_acid",))
    run_case_checks(case)
    result = CheckResult.objects.get(case=case, check_name="sequence_complete")
    assert result.verdict == Verdict.WARN and result.value == 2
    assert required_steps(site) == (
        ("before_acetic_acid", "after_acetic_acid", "after_lugol"),
        False,
    )


def test_acetic_acid_sites_need_only_the_acetic_acid_steps():
    site = make_site()
    site.submission_requirements = ["acetic_acid_steps"]
    assert required_steps(site) == (("before_acetic_acid", "after_acetic_acid"), True)


# --- thresholds ---------------------------------------------------------------------------------


def test_the_most_specific_threshold_in_force_wins(monkeypatch):
    monkeypatch.setitem(thresholds.DEFAULTS, "focus", {"fail_below": 1.0, "warn_below": 2.0})
    kisumu, other = make_site(), make_site()
    CheckThreshold.objects.create(check_name="focus", parameter="fail_below", value=5.0)
    CheckThreshold.objects.create(
        check_name="focus", parameter="fail_below", capture_device="Scope X", value=6.0
    )
    CheckThreshold.objects.create(
        check_name="focus", parameter="fail_below", site=kisumu, value=7.0
    )
    CheckThreshold.objects.create(
        check_name="focus", parameter="fail_below", site=kisumu, capture_device="Scope X", value=8.0
    )
    resolve = thresholds.resolve
    assert resolve("focus", site=other, device="") == {"fail_below": 5.0, "warn_below": 2.0}
    assert resolve("focus", site=other, device="Scope X")["fail_below"] == 6.0
    assert resolve("focus", site=kisumu, device="")["fail_below"] == 7.0
    assert resolve("focus", site=kisumu, device="Scope X")["fail_below"] == 8.0
    assert resolve("focus", site=kisumu, device="Scope Y")["fail_below"] == 7.0


def test_each_result_records_the_thresholds_it_used(case_with_images, only_checks, monkeypatch):
    monkeypatch.setitem(thresholds.DEFAULTS, "size", {"fail_below": 1.5})
    case, _ = case_with_images
    CheckThreshold.objects.create(
        check_name="size", parameter="fail_below", site=case.site, value=2.5
    )
    only_checks(Check("size", "1", "image", measured(3.0)))
    run_case_checks(case)
    assert {tuple(r.thresholds.items()) for r in CheckResult.objects.filter(case=case)} == {
        (("fail_below", 2.5),)
    }
