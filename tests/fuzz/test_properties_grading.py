"""Property tests of the quiz grader (courses/grading.py, ADR 0004): for any quiz the admin
accepts and any submission, however malformed, the grader either refuses with its documented
ValidationError or grades within [0, max], all or nothing per question, whatever the order of
the answers, the same way every time."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from courses.grading import KeyedQuestion, grade, normalise_answers
from tests.fuzz.conftest import fuzz_settings

pytestmark = pytest.mark.fuzz

REFUSALS = {"malformed", "unknown_question", "missing", "unknown_choice"}
ids = st.text(alphabet="0123456789abcdef-", min_size=1, max_size=12)


@st.composite
def quizzes(draw) -> list[KeyedQuestion]:
    """A quiz as the lesson editor allows it (courses/blocks.py): 1–100 points a question;
    2–8 choices, exactly one right for single choice, at least one for multiple choice."""
    used: set[str] = set()
    questions = []
    for _ in range(draw(st.integers(1, 8))):
        question_id = draw(ids.filter(lambda value: value not in used))
        used.add(question_id)
        kind = draw(st.sampled_from(("single_choice", "multiple_choice", "true_false")))
        points = draw(st.integers(1, 100))
        if kind == "true_false":
            questions.append(
                KeyedQuestion(
                    question_id,
                    kind,
                    points,
                    (),
                    frozenset({draw(st.sampled_from(("true", "false")))}),
                )  # noqa: E501
            )
            continue
        choices = draw(
            st.lists(
                ids.filter(lambda value: value not in used), min_size=2, max_size=8, unique=True
            )  # noqa: E501
        )
        used.update(choices)
        if kind == "single_choice":
            correct = {draw(st.sampled_from(choices))}
        else:
            correct = set(draw(st.lists(st.sampled_from(choices), min_size=1, unique=True)))
        questions.append(
            KeyedQuestion(question_id, kind, points, tuple(choices), frozenset(correct))
        )  # noqa: E501
    return questions


def options(question: KeyedQuestion) -> list[str]:
    return list(question.choice_ids) or ["true", "false"]


@st.composite
def well_formed(draw, quiz: list[KeyedQuestion]) -> dict:
    """Every question answered with its own choices: one for single choice and true/false,
    one or more for multiple choice; right or wrong, in any order."""
    answers = {}
    for question in quiz:
        if question.kind == "multiple_choice":
            chosen = draw(st.lists(st.sampled_from(options(question)), min_size=1, unique=True))
        else:
            chosen = [draw(st.sampled_from(options(question)))]
        answers[question.id] = chosen
    return answers


scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),  # noqa: E501
    max_leaves=10,
)


@st.composite
def anything(draw, quiz: list[KeyedQuestion]):
    """Submissions as a tampered form or a stale page could send them: a well-formed one
    spoilt in one to three ways (a question missing or unknown, another question's choice, a
    choice twice, a wrong type, a huge list), or not even a dict."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    answers = draw(well_formed(quiz))
    every_choice = [choice for question in quiz for choice in options(question)]
    for _ in range(draw(st.integers(1, 3))):
        target = draw(st.sampled_from([question.id for question in quiz]))
        spoil = draw(st.integers(0, 6))
        if spoil == 0:
            answers.pop(target, None)
        elif spoil == 1:
            answers[draw(st.text(max_size=8))] = draw(json_values)
        elif spoil == 2:
            prior = answers.get(target)
            prior = prior if isinstance(prior, list) else []
            answers[target] = [*prior, draw(st.sampled_from(every_choice))]
        elif spoil == 3:
            answers[target] = draw(scalars | json_values)
        elif spoil == 4:
            answers[target] = draw(
                st.lists(st.sampled_from(every_choice), min_size=200, max_size=400)
            )  # noqa: E501
        elif spoil == 5:
            answers[target] = draw(st.text(max_size=8) | st.sampled_from(every_choice))
        else:
            answers[target] = draw(st.lists(json_values, max_size=5))
    return answers


def grade_or_refusal(quiz, answers):
    try:
        clean = normalise_answers(quiz, answers)
    except ValidationError as exc:
        assert exc.code in REFUSALS, exc.code
        return None
    return clean, grade(quiz, clean)


def check_grade(quiz, clean, result) -> None:
    maximum = sum(question.points for question in quiz)
    assert result.max_score == maximum
    assert 0 <= result.score <= maximum
    assert result.score == sum(row["points"] for row in result.results)
    assert [row["question"] for row in result.results] == [question.id for question in quiz]
    for question, row in zip(quiz, result.results, strict=True):
        assert row["points"] == (question.points if row["correct"] else 0)
        assert row["correct"] == (frozenset(clean[question.id]) == question.correct)
        assert row["correct"] == (not row["wrong_choices"] and not row["missed_choices"])
    all_right = all(row["correct"] for row in result.results)
    assert (result.score == maximum) == all_right
    assert 0 <= result.percent <= 100


@fuzz_settings(100)
@given(data=st.data())
def test_any_submission_is_graded_within_bounds_or_refused_with_the_documented_error(data):
    quiz = data.draw(quizzes())
    answers = data.draw(anything(quiz))
    outcome = grade_or_refusal(quiz, answers)
    if outcome is not None:
        check_grade(quiz, *outcome)
        assert grade_or_refusal(quiz, answers) == outcome  # deterministic


@fuzz_settings(100)
@given(data=st.data())
def test_a_well_formed_submission_is_always_graded_and_order_does_not_matter(data):
    quiz = data.draw(quizzes())
    answers = data.draw(well_formed(quiz))
    clean, result = grade_or_refusal(quiz, answers)
    check_grade(quiz, clean, result)
    shuffled = {
        question_id: data.draw(st.permutations(chosen))
        for question_id, chosen in data.draw(st.permutations(list(answers.items())))
    }
    again = grade_or_refusal(quiz, shuffled)
    assert again[0] == clean
    assert again[1].score == result.score
    assert again[1].results == result.results


@fuzz_settings(50)
@given(quiz=quizzes())
def test_the_answer_key_itself_gets_full_marks(quiz):
    answers = {question.id: sorted(question.correct) for question in quiz}
    _clean, result = grade_or_refusal(quiz, answers)
    assert result.score == result.max_score
    assert result.percent == 100


@pytest.mark.parametrize(
    "value",
    [5, 5.5, True, object()],
    ids=["int", "float", "bool", "object"],
)
def test_an_answer_that_is_not_text_or_a_list_is_refused_as_malformed(value):
    # Found by the property test above: `list(5)` raised TypeError instead of refusing.
    quiz = [KeyedQuestion("q1", "single_choice", 1, ("a", "b"), frozenset({"a"}))]
    with pytest.raises(ValidationError) as refused:
        normalise_answers(quiz, {"q1": value})
    assert refused.value.code == "malformed"
