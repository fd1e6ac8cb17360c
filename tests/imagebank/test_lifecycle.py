"""The case lifecycle: exactly the allowed transitions pass, every other pair is refused."""

import itertools

import pytest

from imagebank.lifecycle import (
    EDITABLE_STATES,
    STATES_NEEDING_REASON,
    SUBMITTED_STATES,
    TRANSITIONS,
    CaseState,
    IllegalTransition,
    assert_transition,
    can_transition,
)
from imagebank.models import Case, CaseEvent
from imagebank.services import cases as case_services
from tests.factories import make_case

S = CaseState
# Written out here rather than read from TRANSITIONS, so a change to the table fails a test.
ALLOWED = {
    (S.DRAFT, S.SUBMITTED),
    (S.SUBMITTED, S.QUALITY_CHECKS),
    (S.QUALITY_CHECKS, S.IN_REVIEW),
    (S.IN_REVIEW, S.RETURNED),
    (S.IN_REVIEW, S.ACCEPTED),
    (S.IN_REVIEW, S.REJECTED),
    (S.RETURNED, S.SUBMITTED),
}
ALL_PAIRS = list(itertools.product(CaseState, CaseState))
FORBIDDEN = [pair for pair in ALL_PAIRS if pair not in ALLOWED]


def _ids(pair) -> str:
    return f"{pair[0].value}->{pair[1].value}"


def test_the_matrix_covers_every_pair_of_states():
    assert len(CaseState) == 7
    assert len(ALL_PAIRS) == 49
    assert len(ALLOWED) + len(FORBIDDEN) == 49


def test_the_transition_table_is_exactly_the_allowed_set():
    table = {(S(frm), S(to)) for frm, targets in TRANSITIONS.items() for to in targets}
    assert table == ALLOWED
    assert set(TRANSITIONS) == set(CaseState)


@pytest.mark.parametrize("pair", sorted(ALLOWED), ids=_ids)
def test_allowed_transition_passes(pair):
    from_state, to_state = pair
    assert can_transition(from_state, to_state)
    assert_transition(from_state, to_state)  # does not raise
    assert_transition(from_state.value, to_state.value)  # plain strings from the database too


@pytest.mark.parametrize("pair", FORBIDDEN, ids=_ids)
def test_every_other_pair_is_illegal(pair):
    from_state, to_state = pair
    assert not can_transition(from_state, to_state)
    with pytest.raises(IllegalTransition) as raised:
        assert_transition(from_state.value, to_state.value)
    assert raised.value.from_state == from_state
    assert raised.value.to_state == to_state
    # The message names both states by their labels, for the person who tried.
    assert str(from_state.label) in str(raised.value)
    assert str(to_state.label) in str(raised.value)


@pytest.mark.parametrize("terminal", [S.ACCEPTED, S.REJECTED])
def test_accepted_and_rejected_are_terminal(terminal):
    assert TRANSITIONS[terminal] == frozenset()
    for target in CaseState:
        assert not can_transition(terminal, target)


def test_no_state_transitions_to_itself():
    for state in CaseState:
        assert not can_transition(state, state)


def test_every_state_is_reachable_from_draft():
    reached, frontier = {S.DRAFT}, [S.DRAFT]
    while frontier:
        for target in TRANSITIONS[frontier.pop()]:
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(CaseState)


def test_state_groups():
    assert {S.DRAFT, S.RETURNED} == EDITABLE_STATES
    assert set(CaseState) - {S.DRAFT} == SUBMITTED_STATES
    assert {S.RETURNED, S.REJECTED} == STATES_NEEDING_REASON


@pytest.mark.parametrize("pair", [("draft", "archived"), ("archived", "draft"), ("", "draft")])
def test_an_unknown_state_is_an_illegal_transition(pair):
    with pytest.raises(IllegalTransition) as raised:
        assert_transition(*pair)
    assert str(raised.value)  # the message is built even for a state the enum does not know


# --- through the service, on a real row -------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "to_state", [S.QUALITY_CHECKS, S.IN_REVIEW, S.ACCEPTED, S.REJECTED, S.RETURNED, S.DRAFT]
)
def test_transition_case_refuses_an_illegal_move_and_leaves_no_trace(to_state):
    case = make_case()
    events_before = CaseEvent.objects.filter(case=case).count()
    with pytest.raises(IllegalTransition):
        case_services.transition_case(case=case, to_state=to_state, reason="because")
    case.refresh_from_db()
    assert case.state == S.DRAFT
    assert case.submitted_at is None
    assert CaseEvent.objects.filter(case=case).count() == events_before


@pytest.mark.django_db
def test_a_terminal_case_cannot_be_reopened_through_the_service():
    case = make_case()
    Case.objects.filter(pk=case.pk).update(state=S.ACCEPTED, submitted_at=case.created_at)
    for target in CaseState:
        with pytest.raises(IllegalTransition):
            case_services.transition_case(case=case, to_state=target, reason="reopen")
    case.refresh_from_db()
    assert case.state == S.ACCEPTED
