"""Benchmark 5's fix: a course's badge is drawn once and shared by its certificates, each of
which still bakes its own credential into its copy."""

import dataclasses

from credentials.rendering import badge_image, bake_png, unbake_png
from credentials.rendering.badge import _badge_png
from tests.credentials.test_rendering import _content


def test_certificates_of_one_course_share_one_drawing_of_the_badge():
    _badge_png.cache_clear()
    first = _content("zh-hans")
    second = dataclasses.replace(first, holder_name="李四", number="RW-2026-000124")
    assert badge_image(first) == badge_image(second)
    info = _badge_png.cache_info()
    assert (info.misses, info.hits) == (1, 1)


def test_a_different_course_level_year_or_language_draws_another_badge():
    base = _content("zh-hans")
    images = {
        badge_image(base),
        badge_image(dataclasses.replace(base, course_title="新能源汽车高压安全")),
        badge_image(dataclasses.replace(base, level="高级")),
        badge_image(dataclasses.replace(base, issued_on=base.issued_on.replace(year=2027))),
        badge_image(_content("en")),
    }
    assert len(images) == 5


def test_each_certificate_bakes_its_own_credential_into_the_shared_image():
    image = badge_image(_content("zh-hans"))
    one = bake_png(image, {"id": "urn:uuid:1", "name": "王建国"})
    two = bake_png(image, {"id": "urn:uuid:2", "name": "李四"})
    assert unbake_png(one)["name"] == "王建国"
    assert unbake_png(two)["name"] == "李四"
    assert unbake_png(image) is None  # the cached image itself is never changed
