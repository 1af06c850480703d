"""Quiz grading, on the server only. The answer key is read from the lesson in the
default language (what enrolments point at); the browser only ever sends choice ids.

An answer set is {question_block_id: [choice_id, ...]} for choice questions and
{question_block_id: ["true"|"false"]} for true/false. Anything that does not fit the
lesson's questions (unknown ids, a choice of another question, two answers to a
one-answer question) is tampering or a stale page, and is refused, not graded."""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from courses.blocks import QUESTION_TYPES


@dataclass(frozen=True)
class KeyedQuestion:
    id: str
    kind: str
    points: int
    choice_ids: tuple[str, ...]  # empty for true/false
    correct: frozenset[str]  # choice ids, or {"true"} / {"false"}


@dataclass
class Grade:
    score: int
    max_score: int
    results: list[dict] = field(default_factory=list)

    @property
    def percent(self) -> int:
        return round(100 * self.score / self.max_score) if self.max_score else 100


def answer_key(lesson) -> list[KeyedQuestion]:
    questions = []
    for block in lesson.body:
        if block.block_type not in QUESTION_TYPES:
            continue
        value = block.value
        if block.block_type == "true_false":
            choice_ids: tuple[str, ...] = ()
            correct = frozenset({"true" if value["answer"] else "false"})
        else:
            items = value["choices"].bound_blocks
            choice_ids = tuple(item.id for item in items)
            correct = frozenset(item.id for item in items if item.value["correct"])
        questions.append(
            KeyedQuestion(
                id=block.id,
                kind=block.block_type,
                points=value["points"],
                choice_ids=choice_ids,
                correct=correct,
            )
        )
    return questions


def normalise_answers(key: list[KeyedQuestion], answers: dict) -> dict[str, list[str]]:
    """Check that ``answers`` fits the questions; return it in a canonical form."""
    if not isinstance(answers, dict):
        raise ValidationError(_("The answers could not be read."), code="malformed")
    by_id = {q.id: q for q in key}
    unknown = set(answers) - set(by_id)
    if unknown:
        raise ValidationError(
            _("This quiz has changed since the page was opened. Reload it and answer again."),
            code="unknown_question",
        )
    clean: dict[str, list[str]] = {}
    for question in key:
        raw = answers.get(question.id)
        if raw is not None and not isinstance(raw, str | list | tuple):
            raise ValidationError(_("The answers could not be read."), code="malformed")
        chosen = [raw] if isinstance(raw, str) else list(raw or [])
        if not chosen:
            raise ValidationError(_("Answer every question before submitting."), code="missing")
        if not all(isinstance(c, str) for c in chosen) or len(set(chosen)) != len(chosen):
            raise ValidationError(_("The answers could not be read."), code="malformed")
        allowed = set(question.choice_ids) if question.choice_ids else {"true", "false"}
        if not set(chosen) <= allowed:
            raise ValidationError(
                _("This quiz has changed since the page was opened. Reload it and answer again."),
                code="unknown_choice",
            )
        if question.kind != "multiple_choice" and len(chosen) != 1:
            raise ValidationError(_("The answers could not be read."), code="malformed")
        clean[question.id] = sorted(chosen)
    return clean


def grade(key: list[KeyedQuestion], answers: dict[str, list[str]]) -> Grade:
    """All or nothing per question: a multiple-choice question scores only when exactly
    the right answers are chosen."""
    result = Grade(score=0, max_score=sum(q.points for q in key))
    for question in key:
        chosen = frozenset(answers[question.id])
        right = chosen == question.correct
        result.score += question.points if right else 0
        result.results.append(
            {
                "question": question.id,
                "chosen": sorted(chosen),
                "correct": right,
                "points": question.points if right else 0,
                "max_points": question.points,
                "wrong_choices": sorted(chosen - question.correct),
                "missed_choices": sorted(question.correct - chosen),
            }
        )
    return result
