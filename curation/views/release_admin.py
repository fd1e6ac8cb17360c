"""The curators' release pages: the list of releases and versions (with a form for a new
release), the definition form of a new version, and a version's page with its Preview, Build and
Publish buttons.

Permission: curation.services.releases.can_manage_releases (curators and superusers; 403 for
anyone else, the sign-in page for anonymous visitors). The reads come from
curation.release_selectors, every write from curation.services.releases; each POST answers with
a redirect and says what happened in a message. The preview writes nothing: its counts are kept
in the session for the page the redirect leads to.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from curation import release_selectors as selectors
from curation.models import Release, ReleaseState, ReleaseVersion
from curation.release_forms import ReleaseForm, VersionDefinitionForm
from curation.releases.splits import SPLITS
from curation.services import releases as services
from curation.views.release_catalogue import label_tables, split_columns, version_context
from imagebank.permissions import require

PREVIEW_SESSION_KEY = "release-preview"


def _require_curator(request: HttpRequest) -> None:
    require(services.can_manage_releases(request.user), _("Only curators manage releases."))


def _release_or_404(request: HttpRequest, slug: str) -> Release:
    release = selectors.curator_releases(request.user).filter(slug=slug).first()
    if release is None:
        raise Http404(_("No release has this slug."))
    return release


def _version_or_404(request: HttpRequest, slug: str, version: str) -> ReleaseVersion:
    found = selectors.curator_version(request.user, slug, version)
    if found is None:
        raise Http404(_("No release version has this name."))
    return found


def _manage(version: ReleaseVersion):
    return redirect("curation:release-manage", version.release.slug, version.version)


def _say_errors(request: HttpRequest, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def release_admin(request: HttpRequest) -> HttpResponse:
    """GET: every release and its versions. POST: a new release (then its first version's
    form)."""
    _require_curator(request)
    status = 200
    form = ReleaseForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                release = services.create_release(
                    slug=form.cleaned_data["slug"],
                    title=form.cleaned_data["title"],
                    actor=request.user,
                )
            except ValidationError as error:
                for key, errors in error.message_dict.items():
                    form.add_error(key if key in form.fields else None, errors)
            else:
                messages.success(
                    request,
                    _("Release %(slug)s created: define its first version.")
                    % {"slug": release.slug},
                )
                return redirect("curation:release-define", release.slug)
        status = 400
    versions = list(selectors.curator_versions(request.user))
    releases = [
        {"release": release, "versions": [v for v in versions if v.release_id == release.pk]}
        for release in selectors.curator_releases(request.user)
    ]
    return render(
        request,
        "curation/release_admin.html",
        {"releases": releases, "form": form},
        status=status,
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def release_define(request: HttpRequest, slug: str) -> HttpResponse:
    """The definition of a new version; POST creates it as a draft (define_version)."""
    _require_curator(request)
    release = _release_or_404(request, slug)
    status = 200
    form = VersionDefinitionForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                version = services.define_version(
                    release=release, actor=request.user, **form.definition()
                )
            except ValidationError as error:
                form.apply_service_errors(error)
            else:
                messages.success(
                    request,
                    _("Version %(label)s defined as a draft: preview it, then build it.")
                    % {"label": version.label},
                )
                return _manage(version)
        status = 400
    return render(
        request,
        "curation/release_define.html",
        {"release": release, "form": form},
        status=status,
    )


def _definition_rows(version: ReleaseVersion) -> list[tuple[str, str]]:
    """The definition as (what, value) lines for the page."""
    selection = version.selection or {}
    every = _("every")
    return [
        (_("Sites"), ", ".join(selection.get("sites", [])) or every),
        (_("Submitted from"), selection.get("submitted_from", "") or "—"),
        (_("Submitted until"), selection.get("submitted_to", "") or "—"),
        (_("Steps every case must have"), ", ".join(selection.get("steps", [])) or "—"),
        (
            _("Labels every case must have a value for"),
            ", ".join(selection.get("require_labels", [])) or "—",
        ),
        (
            _("Checks whose failure leaves an image out"),
            ", ".join(selection.get("exclude_failed_checks", [])) or "—",
        ),
        (_("Labels carried"), ", ".join(version.label_names) or "—"),
        (_("Stratify by labels"), ", ".join(version.stratify_by) or "—"),
        (_("Stratify by site"), _("yes") if version.stratify_by_site else _("no")),
        (
            _("Split fractions (training, validation, test)"),
            " / ".join(f"{value:g}" for value in version.fractions),
        ),
        (_("Seed"), str(version.seed)),
        (_("Near-duplicate radius"), str(version.near_radius)),
    ]


def _preview_tables(counts: dict) -> dict:
    splits = counts.get("splits", {})
    return {
        "split_rows": [
            {"code": column["code"], "title": column["title"], **splits.get(column["code"], {})}
            for column in split_columns()
        ],
        "label_tables": label_tables(
            {"labels": [], "label_distribution": counts.get("labels", {})}
        ),
        "site_rows": [
            {"key": site, "counts": [per.get(split, 0) for split in SPLITS]}
            for site, per in sorted(counts.get("sites", {}).items())
        ],
        "groups": counts.get("groups", 0),
        "linked_pairs": counts.get("linked_pairs", 0),
        "left_out": sorted(counts.get("left_out", {}).items()),
    }


@login_required
@require_http_methods(["GET", "HEAD"])
def release_manage(request: HttpRequest, slug: str, version: str) -> HttpResponse:
    _require_curator(request)
    found = _version_or_404(request, slug, version)
    previews = request.session.get(PREVIEW_SESSION_KEY, {})
    preview_counts = previews.pop(str(found.pk), None)
    if preview_counts is not None:
        request.session[PREVIEW_SESSION_KEY] = previews
    context = {
        "version": found,
        "definition": _definition_rows(found),
        "editable": found.state in services.EDITABLE,
        "publishable": found.state == ReleaseState.BUILT,
        "preview": _preview_tables(preview_counts) if preview_counts is not None else None,
        "audit": found.audits.first(),
    }
    if found.state in (ReleaseState.BUILT, ReleaseState.PUBLISHED):
        context["built"] = version_context(found)
    context["split_columns"] = split_columns()
    return render(request, "curation/release_manage.html", context)


@login_required
@require_POST
def release_preview(request: HttpRequest, slug: str, version: str) -> HttpResponse:
    _require_curator(request)
    found = _version_or_404(request, slug, version)
    try:
        counts = services.preview(found)
    except ValidationError as error:
        _say_errors(request, error)
    else:
        previews = request.session.get(PREVIEW_SESSION_KEY, {})
        previews[str(found.pk)] = counts
        request.session[PREVIEW_SESSION_KEY] = previews
        messages.info(request, _("Preview below: nothing was written."))
    return _manage(found)


@login_required
@require_POST
def release_build(request: HttpRequest, slug: str, version: str) -> HttpResponse:
    _require_curator(request)
    found = _version_or_404(request, slug, version)
    try:
        found = services.queue_build(found, actor=request.user)
    except ValidationError as error:
        _say_errors(request, error)
    else:
        messages.success(
            request,
            _("Version %(label)s is queued to be built; this page shows its state.")
            % {"label": found.label},
        )
    return _manage(found)


@login_required
@require_POST
def release_publish(request: HttpRequest, slug: str, version: str) -> HttpResponse:
    """Publishing is final: the form must tick the confirmation."""
    _require_curator(request)
    found = _version_or_404(request, slug, version)
    if request.POST.get("confirm") != "yes":
        messages.error(
            request,
            _("Tick the confirmation to publish: a published version can never change."),
        )
        return _manage(found)
    try:
        found = services.publish(found, actor=request.user)
    except ValidationError as error:
        _say_errors(request, error)
    else:
        messages.success(
            request,
            _("Version %(label)s is published: it is in the public catalogue.")
            % {"label": found.label},
        )
    return _manage(found)
