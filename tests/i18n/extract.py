"""The translatable strings of the project's own code, found with pure Python (no GNU gettext).

Python modules are read with Babel's extractor and Django's gettext keywords; templates are first
turned by Django's own `templatize` (what `makemessages` feeds to xgettext) into Python-like source.
"""

import io
from collections.abc import Iterator
from pathlib import Path

from babel.messages.extract import extract_python
from django.utils.translation.template import templatize

ROOT = Path(__file__).resolve().parent.parent.parent
PACKAGES = ("config", "imagebank", "curation", "access_requests", "model_bench", "portal")
SKIPPED_PARTS = {"migrations", "__pycache__", "tests"}

# Django's gettext functions (makemessages gives xgettext the same ones), and how many leading
# arguments are the message: (context,) singular, (plural).
KEYWORDS = {
    "_": 1,
    "gettext": 1,
    "gettext_lazy": 1,
    "gettext_noop": 1,
    "ngettext": 2,
    "ngettext_lazy": 2,
    "pgettext": 2,
    "pgettext_lazy": 2,
    "npgettext": 3,
    "npgettext_lazy": 3,
}


def _python_files() -> Iterator[Path]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if not SKIPPED_PARTS & set(path.relative_to(ROOT).parts):
                yield path


def _template_files() -> Iterator[Path]:
    folders = [ROOT / "templates", *(ROOT / package / "templates" for package in PACKAGES)]
    for folder in folders:
        if folder.is_dir():
            yield from sorted(folder.rglob("*.html"))
            yield from sorted(folder.rglob("*.txt"))


def _messages(source: str) -> Iterator[tuple[str | tuple[str, ...], str | None]]:
    """(message, context) pairs of one Python source; a plural message is a (singular, plural)."""
    fileobj = io.BytesIO(source.encode("utf-8"))
    for _lineno, funcname, arguments, _comments in extract_python(
        fileobj, list(KEYWORDS), [], {"encoding": "utf-8"}
    ):
        if arguments is None:
            continue  # one argument, not a literal (`gettext(label)`): nothing to extract
        if isinstance(arguments, str):
            arguments = (arguments,)
        parts = tuple(arguments[: KEYWORDS[funcname]])
        if len(parts) < KEYWORDS[funcname] or not all(isinstance(part, str) for part in parts):
            continue  # a call with a variable, not a literal: nothing to translate here
        context = None
        if funcname.startswith(("pgettext", "npgettext")):
            context, parts = parts[0], parts[1:]
        yield (parts[0] if len(parts) == 1 else parts), context


def translatable_strings() -> dict[tuple[str | tuple[str, ...], str | None], str]:
    """Every translatable message of the project, with the first file it appears in."""
    found: dict[tuple[str | tuple[str, ...], str | None], str] = {}
    for path in _python_files():
        for key in _messages(path.read_text(encoding="utf-8")):
            found.setdefault(key, str(path.relative_to(ROOT)))
    for path in _template_files():
        code = templatize(path.read_text(encoding="utf-8"), origin=str(path))
        # templatize writes each message as one-line literals amid blanked-out text, keeping the
        # template's indentation, which Python's tokenizer would refuse: drop it.
        code = "\n".join(line.lstrip() for line in code.splitlines())
        for key in _messages(code):
            found.setdefault(key, str(path.relative_to(ROOT)))
    return found
