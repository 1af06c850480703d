"""Course pages (authored in Wagtail) and the learning records of drivers."""

from .learning import Completion, Enrollment, LessonProgress, QuizAttempt, SeatPool, Voucher
from .pages import (
    CourseCategory,
    CourseIndexPage,
    CoursePage,
    CourseSectionPage,
    LearningPathPage,
    LearningPathStep,
    LessonPage,
    ModulePage,
)

__all__ = [
    "Completion",
    "CourseCategory",
    "CourseIndexPage",
    "CoursePage",
    "CourseSectionPage",
    "Enrollment",
    "LearningPathPage",
    "LearningPathStep",
    "LessonPage",
    "LessonProgress",
    "ModulePage",
    "QuizAttempt",
    "SeatPool",
    "Voucher",
]
