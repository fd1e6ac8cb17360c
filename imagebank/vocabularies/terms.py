"""Terms, vocabularies, and how free text is matched against them.

A term has a stable `code` (what the database and the API store), a translatable `label`, and the
`spellings` real exports and reports use for it. Wordings are compared by their *tokens*: accents,
case, apostrophes, punctuation and plurals folded, letters split from digits ("HSIL-CIN2",
"HSIL CIN 2" and "hsil/cin2" are the same three tokens). `lookup` matches a whole wording;
`find` spots every term named inside a longer text ("Type 3 transformation zone; high-grade
squamous intraepithelial lesion (HSIL)"), skipping terms that a negation cue ("no", "negative for",
"without" …) puts out of play.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from django.conf import settings
from django.utils import translation


@dataclass(frozen=True)
class Term:
    code: str
    label: str
    spellings: tuple[str, ...] = ()
    score: int | None = None  # Swede score: the points this answer gives
    rank: int | None = None  # severity, in vocabularies whose terms are ordered (worst wins)
    grade: str = ""  # histopathology: the HISTOPATHOLOGY_GRADE code of this diagnosis


@dataclass(frozen=True)
class Found:
    """A term spotted in a text, at token positions [start, end)."""

    term: Term
    start: int
    end: int


def normalise_wording(text: str) -> str:
    """Fold the variants real exports produce: case, curly quotes, dashes and stray whitespace."""
    text = unicodedata.normalize("NFKC", str(text))
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u2013", "-")
    text = text.replace("\u2014", "-")
    text = re.sub(r"\s+", " ", text).casefold()
    return re.sub(r"[\s.;:]+$", "", text).strip()


_APOSTROPHES = re.compile(r"['\u2019\u2018`\u00b4]")
_TOKEN = re.compile(r"[a-z]+|\d+|[<>%+]")
# A dash closing a word is a result ("VIA-", "HPV-"); elsewhere a dash only separates.
_TRAILING_MINUS = re.compile(r"(?<=[a-z])-(?=[\s.,;:)]|$)")


def _singular(token: str) -> str:
    # "lesions", "biopsies", "vessels" name the same term as their singular; short words, and
    # words ending in -ss, -us, -is (stenosis, papillomavirus), are left alone.
    if len(token) < 4 or not token.isalpha():
        return token
    if token.endswith("ies"):
        return token[:-3] + "y"
    if token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def tokens(text: str | None) -> tuple[str, ...]:
    """The comparable tokens of a wording."""
    if text is None:
        return ()
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(char for char in text if not unicodedata.combining(char)).casefold()
    text = text.replace("\u2265", " > ").replace("\u2264", " < ")
    text = _TRAILING_MINUS.sub(" minus ", _APOSTROPHES.sub("", text))
    return tuple(_singular(token) for token in _TOKEN.findall(text))


def wording_key(text: str | None) -> str:
    return " ".join(tokens(text))


# Words that put the term right after them out of play: "no CIN", "negative for malignancy",
# "to exclude LSIL". Looked for in the few tokens before a spotted term.
NEGATION_CUES = frozenset(
    {
        ("no",),
        ("not",),
        ("nor",),
        ("without",),
        ("exclude",),
        ("negative", "for"),
        ("absence", "of"),
        ("absent",),
        ("free", "of"),
        ("rule", "out"),
        ("ruled", "out"),
    }
)
NEGATION_WINDOW = 6  # tokens: "no evidence of CIN or malignancy"
# Words that end a negation's reach: "no CIN but HSIL on the second biopsy".
NEGATION_ENDS = frozenset({"but", "however", "although", "though", "except", "yet", "whereas"})


# ... and words that do so from right after it: "HSIL ruled out", "CIN excluded".
POST_NEGATION_CUES = frozenset(
    {
        ("ruled", "out"),
        ("excluded",),
        ("not", "seen"),
        ("not", "identified"),
        ("not", "found"),
        ("absent",),
    }
)


def _is_negated(text_tokens: tuple[str, ...], start: int, end: int) -> bool:
    before = text_tokens[max(0, start - NEGATION_WINDOW) : start]
    for index in range(len(before) - 1, -1, -1):
        if before[index] in NEGATION_ENDS:
            before = before[index + 1 :]
            break
    after = text_tokens[end : end + 2]
    return any(
        before[i : i + len(cue)] == cue for cue in NEGATION_CUES for i in range(len(before))
    ) or any(after[: len(cue)] == cue for cue in POST_NEGATION_CUES)


ROMAN_NUMERALS = frozenset({"i", "ii", "iii", "iv", "v"})


def _spottable(phrase: tuple[str, ...]) -> bool:
    """Bare numbers and numerals ("1", "II") name a term only as a whole wording: inside a text
    they are too often part of something else ("CIN II")."""
    return any(
        token.isalpha() and len(token) >= 2 and token not in ROMAN_NUMERALS for token in phrase
    )


class Vocabulary:
    """A controlled list of terms, from a named published source."""

    def __init__(self, name: str, terms: Iterable[Term], *, source: str = "") -> None:
        self.name = name
        self.source = source
        self.terms = tuple(terms)
        self._by_code = {term.code: term for term in self.terms}
        if len(self._by_code) != len(self.terms):
            raise ValueError(f"duplicate code in vocabulary {name}")
        self._by_key: dict[str, Term] = {}
        for term in self.terms:
            for wording in self.wordings(term):
                self._add(wording_key(wording), term, wording)

    @staticmethod
    def wordings(term: Term) -> tuple[str, ...]:
        return (term.code, str(term.label), *term.spellings)

    def _add(self, key: str, term: Term, wording: str) -> None:
        existing = self._by_key.get(key)
        if existing is not None and existing.code != term.code:
            raise ValueError(
                f"{self.name}: '{wording}' spells both {existing.code} and {term.code}"
            )
        self._by_key[key] = term

    @cached_property
    def _translated(self) -> dict[str, Term]:
        """Labels in every language the portal speaks, so "Négatif" finds "negative". Built on
        first use (translations are not ready at import); a translation two terms share is
        left out rather than guessed."""
        found: dict[str, set[str]] = {}
        for language, _name in settings.LANGUAGES:
            with translation.override(language):
                for term in self.terms:
                    found.setdefault(wording_key(str(term.label)), set()).add(term.code)
        return {
            key: self._by_code[next(iter(codes))]
            for key, codes in found.items()
            if len(codes) == 1 and key and key not in self._by_key
        }

    @cached_property
    def _phrases(self) -> dict[tuple[str, ...], Term]:
        phrases: dict[tuple[str, ...], Term] = {}
        for term in self.terms:
            for wording in self.wordings(term):
                phrase = tokens(wording)
                if phrase and _spottable(phrase):
                    phrases.setdefault(phrase, term)
        return phrases

    @cached_property
    def _longest_phrase(self) -> int:
        return max((len(phrase) for phrase in self._phrases), default=0)

    @property
    def choices(self) -> list[tuple[str, str]]:
        return [(term.code, term.label) for term in self.terms]

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(self._by_code)

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code in self._by_code

    def __getitem__(self, code: str) -> Term:
        return self._by_code[code]

    def __iter__(self):
        return iter(self.terms)

    def __repr__(self) -> str:
        return f"<Vocabulary {self.name}: {len(self.terms)} terms>"

    def label(self, code: str | None) -> str:
        if not code:
            return ""
        term = self._by_code.get(code)
        return str(term.label) if term else code

    def lookup(self, wording: str | None) -> Term | None:
        """The term a whole wording names, or None when the vocabulary does not know it."""
        key = wording_key(wording)
        if not key:
            return None
        return self._by_key.get(key) or self._translated.get(key)

    def find(self, text: str | None) -> list[Found]:
        """Every term named inside `text`, left to right, longest phrase first; a term a
        negation cue puts out of play is left out."""
        text_tokens = tokens(text)
        found: list[Found] = []
        position = 0
        while position < len(text_tokens):
            for length in range(min(self._longest_phrase, len(text_tokens) - position), 0, -1):
                term = self._phrases.get(text_tokens[position : position + length])
                if term is not None:
                    if not _is_negated(text_tokens, position, position + length):
                        found.append(Found(term, position, position + length))
                    position += length
                    break
            else:
                position += 1
        return found

    def worst(self, terms: Iterable[Term]) -> Term | None:
        """The term of highest rank among `terms` (unranked terms count lowest)."""
        ranked = sorted(
            terms, key=lambda term: -1 if term.rank is None else term.rank, reverse=True
        )
        return ranked[0] if ranked else None

    def score(self, code: str | None) -> int | None:
        return self._by_code[code].score if code in self._by_code else None


def vocabulary(name: str, *terms: Term, source: str = "") -> Vocabulary:
    return Vocabulary(name, terms, source=source)
