import pytest

from cms.models import Organization
from courses import services as learning
from tests.cms.test_celery_worker import real_broker, worker  # noqa: F401 - fixtures
from tests.courses.builders import build_course
from tests.courses.test_learning import right_answers
from tests.factories import DriverFactory


def complete_course(driver, built):
    """Enrol ``driver`` and pass every lesson of ``built``; returns the Completion."""
    learning.enrollment_create(user=driver, course=built.course)
    learning.lesson_complete(user=driver, lesson=built.reading)
    learning.quiz_attempt_submit(user=driver, lesson=built.quiz, answers=right_answers(built.quiz))
    return driver.completions.get(course=built.course)


@pytest.fixture
def school(db):
    return Organization.objects.create(
        kind=Organization.Kind.SCHOOL,
        name="鹏城交通职业学院",
        name_en="Pengcheng Transport College",
        slug="pengcheng",
    )


@pytest.fixture
def carmaker(db):
    return Organization.objects.create(
        kind=Organization.Kind.CARMAKER,
        name="远航新能源汽车",
        name_en="Yuanhang NEV",
        slug="yuanhang",
    )


@pytest.fixture
def platform(db):
    return Organization.objects.create(
        kind=Organization.Kind.PLATFORM, name="快行出行", name_en="Kuaixing", slug="kuaixing"
    )


@pytest.fixture
def co_developed(school, carmaker):
    built = build_course(organization=school, title="新能源汽车安全", certificate_valid_days=365)
    built.course.co_developers.add(carmaker)
    built.course.save()
    return built


@pytest.fixture
def driver(db):
    return DriverFactory(display_name="王建国")


@pytest.fixture
def completion(driver, co_developed):
    return complete_course(driver, co_developed)
