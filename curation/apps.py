from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# Declares the app's bank-wide roles while app configs load, before any ready() or admin.
from curation import roles  # noqa: F401

# The modules whose import registers the automated checks (curation.checks.registry).
CHECK_MODULES = (
    "curation.checks.image_checks",
    "curation.checks.duplicate_check",
    "curation.checks.case_checks",
)


class CurationConfig(AppConfig):
    name = "curation"
    verbose_name = _("Curation")

    def ready(self) -> None:
        from importlib import import_module

        from curation.services.checks import quality_check_hook
        from imagebank import hooks

        for module in CHECK_MODULES:
            import_module(module)
        # The core runs the registered checks when a submitted case reaches them, and asks the
        # step classifier for a step where an image comes without one.
        from curation.checks import step_suggestion

        hooks.register_quality_check(quality_check_hook)
        hooks.register_step_suggester(step_suggestion.suggest)
        # Every processed image enters the near-duplicate index at once (drafts too, so that
        # `similar` and the API find an image before its case is submitted).
        from curation import fingerprints

        hooks.register_image_processor(fingerprints.index_processed_image)
        # The case page shows the checks' results, and the reads of their overlays are audited.
        from curation.views import case_checks, files
        from imagebank.read_audit import register_audited_read

        hooks.register_case_panel(case_checks.case_checks_panel)
        register_audited_read("curation:check-overlay", files.OVERLAY_READ)
        # The review queue: a case reaching review enters it within the transition's own
        # transaction (and leaves it when it leaves review another way); the reconciler ends
        # claims past their expiry and enqueues cases in review that have no live entry.
        from curation.services import reviews
        from imagebank.reconcile import WorkKind, register_work_kind

        hooks.case_transitioned.connect(
            reviews.on_case_transitioned, dispatch_uid="curation.review_queue"
        )
        from curation.services import notices

        register_work_kind(
            WorkKind(
                name="notice_mails",
                label=_("Notices not yet mailed"),
                reconcile=notices.reconcile_mails,
                backlog=notices.mails_backlog,
            )
        )
        from curation.services import releases

        register_work_kind(
            WorkKind(
                name="release_builds",
                label=_("Dataset releases waiting to be built"),
                reconcile=releases.reconcile_builds,
                backlog=releases.builds_backlog,
            )
        )
        register_work_kind(
            WorkKind(
                name="review_queue",
                label=_("Cases waiting for review, and reviewers' claims"),
                reconcile=reviews.reconcile_queue,
                backlog=reviews.queue_backlog,
            )
        )
        # A bad review setting stops the deployment at start-up (manage.py check).
        from django.core import checks

        from curation.system_checks import review_settings

        checks.register(review_settings, "curation")
        import_module("curation.views.review_outlines").register()  # outlines panel, audited reads
        import_module("curation.views.review_panels").register()  # outcome panel, history, audit
