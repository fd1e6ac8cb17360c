"""The manifest parser: any bytes give a Manifest or a ManifestError; valid manifests round-trip."""

import csv
import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagebank import vocabularies as vocab
from imagebank.ingest import manifest as m
from imagebank.ingest.report import Level
from imagebank.services.cases import ACETOWHITE_FEATURES, CLINICAL_FIELDS, DERIVED_FIELDS

# Fields whose values depend on another field's: random picks would break the consistency rules.
DEPENDENT = {"inadequacy_reason", *ACETOWHITE_FEATURES, *DERIVED_FIELDS}
INDEPENDENT_CODED = sorted(set(m.CODED_FIELDS) - DEPENDENT)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def document(*cases: dict) -> bytes:
    return json.dumps({"format": m.FORMAT_NAME, "version": 1, "cases": list(cases)}).encode()


def case(case_id: str = "K-1", *images: dict, **metadata) -> dict:
    images = images or ({"file": f"{case_id}/1.jpg", "step": "after_acetic_acid"},)
    return {"case_id": case_id, "local_patient_id": "P", "metadata": metadata, "images": images}


def csv_bytes(*rows: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


@FAST
@given(st.binary(max_size=2000), st.sampled_from(["json", "csv"]))
def test_arbitrary_bytes_give_a_manifest_or_a_manifest_error(data, kind):
    try:
        m.parse_manifest(data, kind)
    except m.ManifestError as error:
        assert error.message


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


@FAST
@given(
    st.lists(
        st.fixed_dictionaries(
            {"case_id": json_values, "local_patient_id": json_values, "images": json_values},
            optional={
                "metadata": st.dictionaries(
                    st.sampled_from(CLINICAL_FIELDS) | st.text(max_size=8), json_values, max_size=5
                )
            },
        ),
        min_size=1,
        max_size=4,
    )
)
def test_arbitrary_case_entries_only_give_problems(cases):
    try:
        result = m.parse_manifest(document(*cases), "json")
    except m.ManifestError:
        return
    assert len(result.cases) == len(cases)
    for entry, problem in ((e, p) for e in result.cases for p in result.errors):
        assert problem.field.startswith("cases[")
        assert isinstance(entry.metadata_valid, bool)


@FAST
@given(st.lists(st.lists(st.text(max_size=12), max_size=8), max_size=8))
def test_arbitrary_csv_cells_only_give_problems(rows):
    data = csv_bytes(["case_id", "local_patient_id", "file", "step", "order", "hpv_result"], *rows)
    try:
        result = m.parse_manifest(data, "csv")
    except m.ManifestError:
        return
    assert all(p.row is None or p.row >= 2 for p in result.problems)


coded = st.sampled_from(INDEPENDENT_CODED).flatmap(
    lambda name: st.tuples(st.just(name), st.sampled_from(sorted(m.CODED_FIELDS[name].codes)))
)
findings = st.sampled_from(sorted(vocab.FINDING_LISTS)).flatmap(
    lambda name: st.tuples(
        st.just(name),
        st.lists(st.sampled_from(sorted(vocab.FINDING_LISTS[name].codes)), unique=True, min_size=1),
    )
)
ident = st.text("ABCDEFGHK0123456789-_", min_size=1, max_size=10)


@FAST
@given(
    st.dictionaries(
        ident, st.lists(coded | findings, max_size=6).map(dict), min_size=1, max_size=4
    ),
    st.integers(min_value=m.MIN_AGE, max_value=m.MAX_AGE),
)
def test_valid_manifests_round_trip_through_json_and_csv(metadata_by_case, age):
    cases = [
        case(
            case_id,
            {"file": f"{case_id}/a.jpg", "step": "after_lugol", "order": 2},
            **{**values, "age_at_exam": age},
        )
        for case_id, values in metadata_by_case.items()
    ]
    from_json = m.parse_manifest(document(*cases), "json")
    assert from_json.problems == []
    columns = sorted({name for c in cases for name in c["metadata"]})
    rows = [["case_id", "local_patient_id", "file", "step", "order", *columns]]
    for c in cases:
        values = [
            ";".join(v) if isinstance(v, list) else str(v)
            for v in (c["metadata"].get(name, "") for name in columns)
        ]
        rows.append([c["case_id"], "P", c["images"][0]["file"], "after_lugol", "2", *values])
    from_csv = m.parse_manifest(b"\xef\xbb\xbf" + csv_bytes(*rows), "csv")
    assert from_csv.problems == []

    def essence(result):
        return [
            (
                e.case_id,
                e.local_patient_id,
                e.metadata,
                [(i.file, i.step, i.order) for i in e.images],
            )
            for e in result.cases
        ]

    assert essence(from_json) == essence(from_csv)
    assert [c.metadata for c in from_json.cases] == [c["metadata"] for c in cases]


@FAST
@given(
    st.sampled_from(INDEPENDENT_CODED).flatmap(
        lambda name: st.tuples(st.just(name), st.sampled_from(m.CODED_FIELDS[name].terms))
    )
)
def test_a_shouted_spelling_is_normalised_with_a_warning(field_and_term):
    name, term = field_and_term
    wording = f"  {str(term.label).upper()} "
    result = m.parse_manifest(document(case("K-1", **{name: wording})), "json")
    assert result.cases[0].metadata[name] == term.code
    assert result.errors == []
    [warning] = result.problems
    assert warning.level == Level.WARNING and warning.field == f"cases[0].metadata.{name}"


@pytest.mark.parametrize("sentinel", [99, -1, "NA", "n/a", "Not assessable"])
def test_swede_sentinels_mean_not_assessable(sentinel):
    result = m.parse_manifest(document(case("K-1", swede_total=sentinel)), "json")
    assert result.cases[0].metadata == {"swede_not_assessable": True}
    assert [p.level for p in result.problems] == [Level.WARNING]


@pytest.mark.parametrize(
    "metadata, field",
    [
        ({"colour": "pink"}, "colour"),
        ({"hpv_result": "maybe"}, "hpv_result"),
        ({"grade_1_findings": ["thin_acetowhite", "sparkles"]}, "grade_1_findings"),
        ({"swede_total": 11}, "swede_total"),
        ({"age_at_exam": 7}, "age_at_exam"),
        ({"adequacy": "adequate", "inadequacy_reason": "bleeding"}, "inadequacy_reason"),
        (
            {
                "swede_aceto_uptake": "shady_milky",
                "swede_margins": "sharp_even",
                "swede_vessels": "absent",
                "swede_lesion_size": "lt_5mm",
                "swede_iodine_uptake": "brown",
                "swede_total": 9,
            },
            "swede_total",
        ),
    ],
)
def test_unknown_fields_and_values_reject_the_case(metadata, field):
    result = m.parse_manifest(document(case("K-1", **metadata)), "json")
    assert result.cases[0].metadata_valid is False
    assert any(p.field == f"cases[0].metadata.{field}" for p in result.errors)


def test_json_problems_name_the_case_the_image_position_and_the_path():
    images = (
        {"file": "a.jpg"},
        {"file": "../b.jpg"},
        {"file": "a.jpg"},
        {"file": "c.jpg", "order": 0},
    )
    result = m.parse_manifest(
        document(case("K-1", *images), case("K-1"), {"local_patient_id": "P", "images": []}),
        "json",
    )
    found = {(p.case, p.row, p.field) for p in result.errors}
    assert ("K-1", 2, "cases[0].images[1].file") in found  # outside the package
    assert ("K-1", 3, "cases[0].images[2].file") in found  # listed twice
    assert ("K-1", 4, "cases[0].images[3].order") in found  # not a positive integer
    assert ("K-1", None, "cases[1].case_id") in found  # duplicate case id
    assert ("cases[2]", None, "cases[2].case_id") in found  # missing
    assert [i.file for i in result.cases[0].images] == ["a.jpg"]
    assert [c.metadata_valid for c in result.cases] == [True, False, False]


@pytest.mark.parametrize("path", ["/etc/passwd", "..", "a/../../b.jpg", "a\\b.jpg", "C:/x.jpg", ""])
def test_unsafe_paths_are_refused(path):
    assert m.unsafe_path_reason(path)


def test_unknown_step_is_kept_as_other_with_its_wording():
    images = ({"file": "a.jpg", "step": "Schiller test, dim"}, {"file": "b.jpg", "step": "VILI"})
    result = m.parse_manifest(document(case("K-1", *images)), "json")
    first, second = result.cases[0].images
    assert (first.step, first.step_original_wording) == ("other", "Schiller test, dim")
    assert second.step == "after_lugol"
    [warning] = result.problems
    assert warning.level == Level.WARNING and warning.row == 1


def test_csv_rows_are_spreadsheet_rows_and_disagreeing_metadata_is_an_error():
    data = csv_bytes(
        ["case_id", "local_patient_id", "file", "order", "hpv_result", "grade_1_findings"],
        ["K-1", "P", "K-1/1.jpg", "1", "positive", "thin_acetowhite; fine_mosaic"],
        ["", "", "", "", "", ""],
        ["K-1", "", "K-1/2.jpg", "x", "", ""],
        ["K-2", "Q", "K-2/1.jpg", "1", "negative", ""],
        ["K-2", "Q", "K-2/2.jpg", "2", "positive", ""],
        ["", "Q", "K-2/3.jpg", "3", "", ""],
    )
    result = m.parse_manifest(data, "csv")
    k1, k2 = result.cases
    assert k1.metadata == {
        "hpv_result": "positive",
        "grade_1_findings": ["thin_acetowhite", "fine_mosaic"],
    }
    assert k1.metadata_valid and [i.row for i in k1.images] == [2]
    assert not k2.metadata_valid
    found = {(p.row, p.field) for p in result.errors}
    assert found == {(4, "order"), (6, "hpv_result"), (7, "case_id")}
    disagreement = next(p for p in result.errors if p.field == "hpv_result")
    assert "5" in disagreement.message and "6" in disagreement.message


def test_csv_identifiers_longer_than_the_schema_allows_reject_the_case():
    limit = m.MAX_IDENTIFIER_LENGTH
    assert m.schema()["$defs"]["identifier"]["maxLength"] == limit
    long_case, long_patient = "K" * (limit + 1), "P" * (limit + 1)
    data = csv_bytes(
        ["case_id", "local_patient_id", "file"],
        [long_case, "P", "a/1.jpg"],
        [long_case, "P", "a/2.jpg"],
        ["K-2", long_patient, "b/1.jpg"],
        ["K-3", "P" * limit, "c/1.jpg"],  # exactly the limit is fine
    )
    result = m.parse_manifest(data, "csv")
    assert [c.metadata_valid for c in result.cases] == [False, False, True]
    found = {(p.row, p.field, p.case) for p in result.errors}
    assert found == {(2, "case_id", long_case), (4, "local_patient_id", "K-2")}
    from_json = m.parse_manifest(document(case(long_case)), "json")
    assert {p.message for p in result.errors} == {p.message for p in from_json.errors}


@pytest.mark.parametrize(
    "data",
    [
        b"case_id,file\nK,a.jpg\n",  # local_patient_id column missing
        b"case_id;local_patient_id;file\n",  # semicolons
        b"case_id,local_patient_id,file,file\n",  # repeated column
        "case_id,local_patient_id,file\nK,Pé,a.jpg\n".encode("latin-1"),  # not UTF-8
        b"",
    ],
)
def test_unreadable_csv_is_one_clear_error(data):
    with pytest.raises(m.ManifestError):
        m.parse_manifest(data, "csv")


def test_limits():
    with pytest.raises(m.ManifestError, match="MB"):
        m.parse_manifest(b" " * (m.MAX_MANIFEST_BYTES + 1), "json")
    too_many = [case(f"K{i}") for i in range(m.MAX_CASES + 1)]
    with pytest.raises(m.ManifestError):
        m.parse_manifest(document(*too_many), "json")


def test_the_schema_lists_exactly_the_clinical_fields():
    metadata = m.schema()["$defs"]["case"]["properties"]["metadata"]["properties"]
    assert set(metadata) == set(CLINICAL_FIELDS)
    assert m.schema()["properties"]["cases"]["maxItems"] == m.MAX_CASES
    assert m.schema()["$defs"]["case"]["properties"]["images"]["maxItems"] == m.MAX_IMAGES_PER_CASE


def test_a_composite_wording_is_read_as_the_iarc_importer_reads_it():
    result = m.parse_manifest(
        document(
            case(
                "K-1",
                provisional_diagnosis="Type 3 transformation zone; high-grade squamous "
                "intraepithelial lesion (HSIL)",
                histopathology="Anterior lip: HSIL-CIN3; posterior lip: CIN1; VaIN2",
            )
        ),
        "json",
    )
    assert result.errors == []
    metadata = result.cases[0].metadata
    assert metadata["provisional_diagnosis"] == "hsil"
    assert metadata["transformation_zone"] == "type_3"  # not given: taken from the diagnosis
    assert metadata["provisional_diagnosis_text"].startswith("Type 3 transformation zone; high")
    assert metadata["histopathology"] == "cin3"
    assert metadata["histopathology_other_sites"] == ["vain2"]
    assert metadata["histopathology_text"] == "Anterior lip: HSIL-CIN3; posterior lip: CIN1; VaIN2"


def test_a_tz_type_given_wins_over_the_one_in_the_diagnosis():
    result = m.parse_manifest(
        document(
            case("K-1", transformation_zone="type_1", provisional_diagnosis="Type 3 TZ; normal")
        ),
        "json",
    )
    assert result.cases[0].metadata["transformation_zone"] == "type_1"


def test_unknown_is_a_value_not_an_error():
    result = m.parse_manifest(
        document(case("K-1", adequacy="Unknown", hpv_result="unknown")), "json"
    )
    assert result.errors == []
    assert result.cases[0].metadata == {"hpv_result": "unknown"}
    assert [(p.level, p.field) for p in result.problems] == [
        (Level.WARNING, "cases[0].metadata.adequacy")
    ]
