"""French and Spanish are complete: every string of the project's own code has its translation,
with the same placeholders, and the committed compiled catalogues (.mo) match the sources (.po).

Pure Python (Babel and Django's templatize): `make test` needs no GNU gettext. When a test here
fails after a change, run `make messages`, translate what it lists, and commit the .po and .mo.
"""

import gettext
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.utils import translation

from tests.i18n.extract import translatable_strings

LOCALE = Path(settings.BASE_DIR) / "locale"
LANGUAGES = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
# A printf placeholder as Python's % uses them (no space flag: "75 % del" is a percentage in French
# or Spanish typography, not a conversion), or a brace field.
PLACEHOLDER = re.compile(r"%(?:\([^)]+\))?[#0+-]?\d*(?:\.\d+)?[sdifr]|\{[a-z_][a-z0-9_]*\}")


def _catalogue(language: str):
    with open(LOCALE / language / "LC_MESSAGES" / "django.po", "rb") as po:
        return read_po(po, locale=language)


def _key(message) -> tuple:
    return (message.id if isinstance(message.id, str) else tuple(message.id), message.context)


def _placeholders(text: str) -> list[str]:
    return sorted(set(PLACEHOLDER.findall(text.replace("%%", ""))))


@pytest.fixture(scope="module")
def strings() -> dict:
    return translatable_strings()


def test_the_extraction_finds_the_strings_of_python_modules_and_templates(strings):
    files = set(strings.values())
    assert any(name.endswith(".html") for name in files)
    assert any(name.endswith(".py") for name in files)
    assert ("Cases", None) in strings  # the navigation, a template string
    # A plural (blocktranslate count) comes as its singular and plural together.
    assert any(isinstance(message, tuple) for message, _context in strings)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_user_facing_string_has_a_translation(language, strings):
    catalogue = {_key(message): message for message in _catalogue(language) if message.id}
    missing = []
    for key, where in sorted(strings.items(), key=lambda item: item[1]):
        message = catalogue.get(key)
        translated = message is not None and all(
            (message.string,) if isinstance(message.string, str) else message.string
        )
        if not translated or message.fuzzy:
            missing.append(
                f"{where}: {key[0]!r}" + (" (fuzzy)" if message and message.fuzzy else "")
            )
    assert not missing, (
        f"{len(missing)} string(s) lack a {language} translation (run `make messages`, "
        "translate, commit the .po and .mo):\n" + "\n".join(missing[:50])
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_every_placeholder(language):
    wrong = []
    for message in _catalogue(language):
        if not message.id or not message.string or message.fuzzy:
            continue  # a fuzzy entry is not used (and is reported as missing above)
        ids = (message.id,) if isinstance(message.id, str) else message.id
        texts = (message.string,) if isinstance(message.string, str) else message.string
        expected = _placeholders(ids[-1])
        for text in texts:
            if (
                text
                and _placeholders(text) != expected
                and _placeholders(text) != _placeholders(ids[0])
            ):
                wrong.append(f"{ids[0]!r} -> {text!r}")
    assert not wrong, f"{language}: placeholders differ:\n" + "\n".join(wrong)


def _expected_compiled(catalogue) -> dict:
    """What a compiled catalogue holds for a .po, as gettext reads it: every translated, non-fuzzy
    entry (keyed "context\x04msgid", plural forms as (msgid, n)); untranslated ones are left out,
    so that gettext falls back to the English (or to Django's and allauth's own catalogues)."""
    expected = {}
    for message in catalogue:
        if not message.id or message.fuzzy:
            continue
        prefix = f"{message.context}\x04" if message.context else ""
        if isinstance(message.id, str):
            if message.string:
                expected[prefix + message.id] = message.string
        elif all(message.string):
            for index, text in enumerate(message.string):
                expected[(prefix + message.id[0], index)] = text
    return expected


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_committed_compiled_catalogue_matches_its_source(language):
    with open(LOCALE / language / "LC_MESSAGES" / "django.mo", "rb") as mo:
        committed = gettext.GNUTranslations(mo)._catalog
    committed.pop("", None)
    expected = _expected_compiled(_catalogue(language))
    assert committed == expected, (
        f"locale/{language}/LC_MESSAGES/django.mo is stale: `make messages`"
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_django_serves_the_catalogues(language):
    # "Sign out" is the navigation's own string: our catalogue, not Django's or allauth's.
    with translation.override(language):
        assert translation.gettext("Sign out") not in ("", "Sign out")
