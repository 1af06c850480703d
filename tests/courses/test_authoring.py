"""Each school and carmaker authors only inside its own section: what its authors can do and
see in the Wagtail admin, how a course goes live (reviewers, then operators), and that
setting a section up twice changes nothing. Every check goes through the real admin URLs."""

import datetime
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from wagtail.admin.menu import reports_menu
from wagtail.documents.models import Document
from wagtail.images.models import Image
from wagtail.images.tests.utils import get_test_image_file
from wagtail.models import (
    Collection,
    GroupApprovalTask,
    GroupCollectionPermission,
    GroupPagePermission,
    Page,
    Task,
    Workflow,
    WorkflowPage,
    WorkflowState,
    WorkflowTask,
)
from wagtail.test.utils.form_data import inline_formset, nested_form_data, streamfield

from cms.models import Organization, User
from courses.authoring import (
    member_groups_sync,
    operators_group,
    organization_collection,
    organization_sections,
    section_ensure,
)
from courses.models import CourseIndexPage, CoursePage, CourseSectionPage
from tests.courses.builders import catalogue
from tests.factories import AuthorFactory, DriverFactory, OperatorFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


@dataclass
class School:
    organization: Organization
    section: CourseSectionPage
    author: User
    course: CoursePage
    image: Image
    document: Document


@dataclass
class World:
    a: School
    b: School
    reviewer_a: User
    operator: User  # staff, in the Operators group
    superuser: User


def _school(name: str, slug: str, word: str) -> School:
    organization = OrganizationFactory(name=name, name_en=name, slug=slug)
    section = section_ensure(organization=organization)
    author = AuthorFactory(organization=organization)
    member_groups_sync(user=author)
    course = CoursePage(
        title=f"Rainy roads {word}",
        slug=f"rainy-roads-{slug}",
        summary="Keep your distance.",
        category="safe_driving",
    )
    section.add_child(instance=course)
    course.save_revision().publish()
    collection = organization_collection(organization)
    image = Image.objects.create(
        title=f"Logo {word}", file=get_test_image_file(f"{slug}.png"), collection=collection
    )
    document = Document.objects.create(
        title=f"Handbook {word}",
        file=ContentFile(b"Drive safely.", name=f"{slug}.txt"),
        collection=collection,
    )
    return School(organization, section, author, course, image, document)


@pytest.fixture
def world() -> World:
    catalogue()
    a = _school("Alpha Driving School", "alpha", "Alpha")
    b = _school("Bravo Driving School", "bravo", "Bravo")
    reviewer_a = AuthorFactory(organization=a.organization)
    member_groups_sync(user=reviewer_a)
    # Operators choose reviewers; this module never does.
    reviewer_a.groups.add(Group.objects.get(name="alpha reviewers"))
    # Staff but not a superuser: whatever they may do comes from the Operators group.
    operator = OperatorFactory(is_superuser=False)
    operator.groups.add(operators_group())
    return World(a=a, b=b, reviewer_a=reviewer_a, operator=operator, superuser=OperatorFactory())


def as_user(client, user):
    client.force_login(user)
    return client


def assert_refused(response):
    """Wagtail answers a forbidden admin page with 403, or a redirect to the dashboard
    carrying a "no permission" message."""
    assert response.status_code in (302, 403), response.status_code
    if response.status_code == 302:
        assert response["Location"] == reverse("wagtailadmin_home")


def course_form(title: str, slug: str, **fields) -> dict:
    data = {
        "title": title,
        "slug": slug,
        "summary": "Keep your distance in the rain.",
        "body": streamfield([]),
        "category": "safe_driving",
        "level": 1,
        "estimated_minutes": 30,
        "teaching_language": "zh-hans",
        "vehicle_models": "",
        "price_fen": 0,
        "pass_mark": 80,
        "attempt_limit": 3,
        "cooldown_minutes": 30,
        "certificate_valid_days": 730,
        "comments": inline_formset([]),
    }
    data.update(fields)
    return nested_form_data(data)


def add_course_url(section: Page) -> str:
    return reverse("wagtailadmin_pages:add", args=["courses", "coursepage", section.pk])


def create_course(client, section, title, slug, **fields) -> CoursePage:
    response = client.post(add_course_url(section), course_form(title, slug, **fields))
    if response.status_code != 302:
        pytest.fail(f"The course was not created: {response.context['form'].errors}")
    return CoursePage.objects.get(slug=slug)


def current_task_state(page: Page):
    state = WorkflowState.objects.active().get(object_id=str(page.pk))
    return state.current_task_state


def workflow_action(client, page: Page, action: str, comment: str = ""):
    task_state = current_task_state(page)
    url = reverse("wagtailadmin_pages:workflow_action", args=[page.pk, action, task_state.pk])
    return client.post(url, {"comment": comment})


def text(response) -> str:
    return response.content.decode()


# --- authoring in one's own section -----------------------------------------------------------


def test_author_can_create_a_course_in_own_section_and_it_stays_a_draft(client, world):
    as_user(client, world.a.author)

    course = create_course(client, world.a.section, "Night driving Alpha", "night-driving-alpha")

    assert course.get_parent().pk == world.a.section.pk
    assert course.owner == world.a.author
    assert not course.live


def test_author_can_edit_a_course_in_own_section(client, world):
    as_user(client, world.a.author)
    course = world.a.course
    assert client.get(reverse("wagtailadmin_pages:edit", args=[course.pk])).status_code == 200

    response = client.post(
        reverse("wagtailadmin_pages:edit", args=[course.pk]),
        course_form("Rainy roads Alpha, second edition", course.slug),
    )

    assert response.status_code == 302
    course.refresh_from_db()
    assert course.get_latest_revision_as_object().title == "Rainy roads Alpha, second edition"
    assert course.title == "Rainy roads Alpha"  # the live version waits for review


def test_author_cannot_publish_directly_even_in_own_section(client, world):
    as_user(client, world.a.author)
    course = create_course(client, world.a.section, "Night driving Alpha", "night-driving-alpha")

    client.post(
        reverse("wagtailadmin_pages:edit", args=[course.pk]),
        course_form("Night driving Alpha", course.slug, **{"action-publish": "publish"}),
    )

    course.refresh_from_db()
    assert not course.live
    assert not course.permissions_for_user(world.a.author).can_publish()


def test_author_cannot_add_pages_outside_own_section(client, world):
    as_user(client, world.a.author)

    assert_refused(client.get(add_course_url(world.b.section)))
    response = client.post(
        add_course_url(world.b.section), course_form("Sneaky Alpha", "sneaky-alpha")
    )

    assert_refused(response)
    assert not CoursePage.objects.filter(slug="sneaky-alpha").exists()
    home = world.a.section.get_parent().get_parent()
    assert not home.permissions_for_user(world.a.author).can_edit()
    assert not CourseIndexPage.objects.get().permissions_for_user(world.a.author).can_edit()


# --- another school's pages -------------------------------------------------------------------


def test_author_cannot_edit_another_schools_course(client, world):
    as_user(client, world.a.author)
    course = world.b.course
    edit_url = reverse("wagtailadmin_pages:edit", args=[course.pk])

    assert_refused(client.get(edit_url))
    assert_refused(client.post(edit_url, course_form("Taken over", course.slug)))
    assert_refused(client.get(reverse("wagtailadmin_pages:edit", args=[world.b.section.pk])))

    course.refresh_from_db()
    assert course.get_latest_revision_as_object().title == "Rainy roads Bravo"


def test_author_cannot_publish_or_unpublish_another_schools_course(client, world):
    as_user(client, world.a.author)
    course = world.b.course
    edit_url = reverse("wagtailadmin_pages:edit", args=[course.pk])

    assert_refused(
        client.post(edit_url, course_form("Taken over", course.slug, **{"action-publish": "1"}))
    )
    assert_refused(client.post(reverse("wagtailadmin_pages:unpublish", args=[course.pk])))

    course.refresh_from_db()
    assert course.live
    assert course.title == "Rainy roads Bravo"


def test_author_cannot_preview_another_schools_course(client, world):
    as_user(client, world.a.author)
    course = world.b.course

    assert_refused(client.get(reverse("wagtailadmin_pages:view_draft", args=[course.pk])))
    assert_refused(client.get(reverse("wagtailadmin_pages:preview_on_edit", args=[course.pk])))
    assert_refused(
        client.post(
            reverse("wagtailadmin_pages:preview_on_edit", args=[course.pk]),
            course_form("Peek", course.slug),
        )
    )
    revision = course.get_latest_revision()
    assert_refused(
        client.get(reverse("wagtailadmin_pages:revisions_view", args=[course.pk, revision.pk]))
    )
    assert_refused(client.get(reverse("wagtailadmin_pages:history", args=[course.pk])))


def test_explorer_lists_only_own_section(client, world):
    as_user(client, world.a.author)

    own = client.get(reverse("wagtailadmin_explore", args=[world.a.section.pk]))
    assert own.status_code == 200
    assert "Rainy roads Alpha" in text(own)
    assert "Rainy roads Bravo" not in text(own)

    # Another section, or the catalogue above both, sends the author back to their own.
    for page in (world.b.section, CourseIndexPage.objects.get(), Page.get_first_root_node()):
        response = client.get(reverse("wagtailadmin_explore", args=[page.pk]))
        assert response.status_code == 302
        assert response["Location"] == reverse("wagtailadmin_explore", args=[world.a.section.pk])

    # Searching the whole tree from the explorer finds only their own course.
    search = client.get(
        reverse("wagtailadmin_explore", args=[world.a.section.pk]),
        {"q": "Rainy", "search_all": "1"},
    )
    assert "Rainy roads Alpha" in text(search)
    assert "Rainy roads Bravo" not in text(search)


def test_explorer_menu_shows_only_own_section(client, world):
    as_user(client, world.a.author)
    listing = reverse("wagtailadmin_api:pages:listing")

    catalogue_children = client.get(
        listing, {"child_of": CourseIndexPage.objects.get().pk, "for_explorer": "1"}
    )
    section_children = client.get(listing, {"child_of": world.a.section.pk, "for_explorer": "1"})

    assert catalogue_children.status_code == 200
    ids = {item["id"] for item in catalogue_children.json()["items"]}
    assert world.b.section.pk not in ids
    assert ids <= {world.a.section.pk}
    assert [item["id"] for item in section_children.json()["items"]] == [world.a.course.pk]
    other = client.get(listing, {"child_of": world.b.section.pk, "for_explorer": "1"})
    assert other.status_code != 200 or other.json()["items"] == []
    assert "Rainy roads Bravo" not in text(other)


def test_admin_page_search_finds_only_own_pages(client, world):
    as_user(client, world.operator)
    everything = client.get(reverse("wagtailadmin_pages:search"), {"q": "Rainy"})
    assert "Rainy roads Alpha" in text(everything)
    assert "Rainy roads Bravo" in text(everything)

    as_user(client, world.a.author)
    response = client.get(reverse("wagtailadmin_pages:search"), {"q": "Rainy"})
    results = client.get(reverse("wagtailadmin_pages:search_results"), {"q": "Bravo"})

    assert response.status_code == 200
    assert "Rainy roads Alpha" in text(response)
    assert "Rainy roads Bravo" not in text(response)
    assert "Rainy roads Bravo" not in text(results)
    assert "Bravo Driving School" not in text(results)


def test_page_chooser_shows_only_own_section_and_the_way_to_it(client, world):
    index = CourseIndexPage.objects.get()
    as_user(client, world.operator)
    everything = client.get(reverse("wagtailadmin_choose_page_child", args=[index.pk]))
    assert "Bravo Driving School" in text(everything)

    as_user(client, world.a.author)
    browse_root = client.get(reverse("wagtailadmin_choose_page"))
    browse_index = client.get(reverse("wagtailadmin_choose_page_child", args=[index.pk]))
    browse_b = client.get(reverse("wagtailadmin_choose_page_child", args=[world.b.section.pk]))
    search = client.get(reverse("wagtailadmin_choose_page_search"), {"q": "Rainy"})

    assert browse_root.status_code == 200
    assert "Alpha Driving School" in text(browse_index)
    assert "Bravo Driving School" not in text(browse_index)
    assert "Rainy roads Bravo" not in text(browse_b)
    assert "Rainy roads Alpha" in text(search)
    assert "Rainy roads Bravo" not in text(search)


def test_an_author_in_a_site_wide_group_by_mistake_still_sees_only_own_school(client, world):
    """Wagtail's default "Editors" group may edit the whole tree and every collection. The
    explorer and the choosers still show an author nothing of another school."""
    world.a.author.groups.add(Group.objects.get(name="Editors"))
    as_user(client, world.a.author)
    index = CourseIndexPage.objects.get()

    explorer = client.get(reverse("wagtailadmin_explore", args=[index.pk]))
    page_views = [
        explorer,
        client.get(reverse("wagtailadmin_choose_page_child", args=[index.pk])),
        client.get(reverse("wagtailadmin_choose_page_search"), {"q": "Rainy"}),
        client.get(
            reverse("wagtailadmin_api:pages:listing"), {"child_of": index.pk, "for_explorer": "1"}
        ),
        # The section's own page is theirs to open now, but none of its courses is listed.
        client.get(reverse("wagtailadmin_explore", args=[world.b.section.pk])),
    ]
    images = client.get(reverse("wagtailimages_chooser:choose"))
    documents = client.get(reverse("wagtaildocs_chooser:choose"))

    assert "Alpha Driving School" in text(explorer)
    for response in page_views[:-1]:
        assert response.status_code == 200
        assert "Bravo Driving School" not in text(response)
    for response in page_views:
        assert "Rainy roads Bravo" not in text(response)
    assert "Logo Alpha" in text(images) and "Logo Bravo" not in text(images)
    assert "Handbook Alpha" in text(documents) and "Handbook Bravo" not in text(documents)


# --- another school's images and documents ----------------------------------------------------


def test_author_lists_and_chooses_only_own_images(client, world):
    as_user(client, world.a.author)

    listing = client.get(reverse("wagtailimages:index"))
    chooser = client.get(reverse("wagtailimages_chooser:choose"))
    chooser_search = client.get(reverse("wagtailimages_chooser:choose_results"), {"q": "Logo"})

    for response in (listing, chooser, chooser_search):
        assert response.status_code == 200
        assert "Logo Alpha" in text(response)
        assert "Logo Bravo" not in text(response)
    assert_refused(client.get(reverse("wagtailimages:edit", args=[world.b.image.pk])))
    chosen = client.get(reverse("wagtailimages_chooser:chosen", args=[world.b.image.pk]))
    assert chosen.status_code in (302, 403, 404)


def test_author_lists_and_chooses_only_own_documents(client, world):
    as_user(client, world.a.author)

    listing = client.get(reverse("wagtaildocs:index"))
    chooser = client.get(reverse("wagtaildocs_chooser:choose"))
    chooser_search = client.get(reverse("wagtaildocs_chooser:choose_results"), {"q": "Handbook"})

    for response in (listing, chooser, chooser_search):
        assert response.status_code == 200
        assert "Handbook Alpha" in text(response)
        assert "Handbook Bravo" not in text(response)
    assert_refused(client.get(reverse("wagtaildocs:edit", args=[world.b.document.pk])))


def test_an_authors_uploads_go_to_the_schools_own_collection(client, world):
    as_user(client, world.a.author)
    png = get_test_image_file().file.getvalue()

    response = client.post(
        reverse("wagtailimages:add"),
        {"title": "Upload Alpha", "file": SimpleUploadedFile("upload.png", png, "image/png")},
    )

    assert response.status_code == 302
    uploaded = Image.objects.get(title="Upload Alpha")
    assert uploaded.collection == organization_collection(world.a.organization)


def test_operators_see_every_school(client, world):
    as_user(client, world.superuser)

    images = client.get(reverse("wagtailimages_chooser:choose"))
    documents = client.get(reverse("wagtaildocs_chooser:choose"))
    search = client.get(reverse("wagtailadmin_choose_page_search"), {"q": "Rainy"})

    assert "Logo Alpha" in text(images) and "Logo Bravo" in text(images)
    assert "Handbook Alpha" in text(documents) and "Handbook Bravo" in text(documents)
    assert "Rainy roads Alpha" in text(search) and "Rainy roads Bravo" in text(search)

    as_user(client, world.operator)
    explorer = client.get(reverse("wagtailadmin_explore", args=[CourseIndexPage.objects.get().pk]))
    assert "Alpha Driving School" in text(explorer) and "Bravo Driving School" in text(explorer)


def test_site_wide_page_types_report_is_not_in_an_authors_reports_menu(world):
    def report_names(user):
        request = RequestFactory().get("/admin/")
        request.user = user
        return {item.name for item in reports_menu.menu_items_for_request(request)}

    assert "page-types-usage" not in report_names(world.a.author)
    assert "page-types-usage" in report_names(world.superuser)


# --- going live through review ----------------------------------------------------------------


def submit_new_course(client, world, slug="night-driving-alpha", **fields) -> CoursePage:
    as_user(client, world.a.author)
    return create_course(
        client,
        world.a.section,
        "Night driving Alpha",
        slug,
        **{"action-submit": "submit", **fields},
    )


def test_submitting_a_course_for_review_does_not_make_it_live(client, world):
    course = submit_new_course(client, world)

    assert not course.live
    task = current_task_state(course).task.specific
    assert list(task.groups.values_list("name", flat=True)) == ["alpha reviewers"]


def test_authors_cannot_approve_their_own_submission(client, world):
    course = submit_new_course(client, world)

    assert_refused(workflow_action(as_user(client, world.a.author), course, "approve"))
    assert_refused(workflow_action(as_user(client, world.b.author), course, "approve"))

    course.refresh_from_db()
    assert not course.live
    assert current_task_state(course).task.specific.groups.get().name == "alpha reviewers"


def test_reviewer_approval_alone_does_not_make_it_live(client, world):
    course = submit_new_course(client, world)

    workflow_action(as_user(client, world.reviewer_a), course, "approve")

    course.refresh_from_db()
    assert not course.live
    assert current_task_state(course).task.specific.groups.get().name == "Operators"
    # ...and the reviewer cannot give the operators' approval as well.
    assert_refused(workflow_action(client, course, "approve"))
    course.refresh_from_db()
    assert not course.live


def test_operator_approval_after_the_reviewers_makes_it_live(client, world):
    course = submit_new_course(client, world)
    workflow_action(as_user(client, world.reviewer_a), course, "approve")

    workflow_action(as_user(client, world.operator), course, "approve")

    course.refresh_from_db()
    assert course.live
    assert course.title == "Night driving Alpha"
    assert not WorkflowState.objects.active().filter(object_id=str(course.pk)).exists()


def test_a_rejected_course_stays_a_draft(client, world):
    course = submit_new_course(client, world)

    workflow_action(as_user(client, world.reviewer_a), course, "reject", comment="Add a quiz.")

    course.refresh_from_db()
    assert not course.live
    state = WorkflowState.objects.get(object_id=str(course.pk))
    assert state.status == WorkflowState.STATUS_NEEDS_CHANGES


def test_an_approved_course_with_a_future_go_live_date_waits_for_it(client, world):
    go_live = timezone.now() + datetime.timedelta(days=3)
    course = submit_new_course(
        client, world, go_live_at=timezone.localtime(go_live).strftime("%Y-%m-%d %H:%M")
    )
    workflow_action(as_user(client, world.reviewer_a), course, "approve")

    workflow_action(as_user(client, world.operator), course, "approve")

    course.refresh_from_db()
    assert not course.live
    assert course.get_latest_revision().approved_go_live_at is not None


def test_the_workflow_also_covers_edits_to_a_live_course(client, world):
    as_user(client, world.a.author)
    course = world.a.course

    client.post(
        reverse("wagtailadmin_pages:edit", args=[course.pk]),
        course_form("Rainy roads Alpha, revised", course.slug, **{"action-submit": "1"}),
    )
    workflow_action(as_user(client, world.reviewer_a), course, "approve")
    course.refresh_from_db()
    assert course.title == "Rainy roads Alpha"

    workflow_action(as_user(client, world.operator), course, "approve")
    course.refresh_from_db()
    assert course.title == "Rainy roads Alpha, revised"


# --- setting a section up --------------------------------------------------------------------


def _counts() -> dict[str, int]:
    return {
        "pages": Page.objects.count(),
        "sections": CourseSectionPage.objects.count(),
        "groups": Group.objects.count(),
        "group permissions": Group.permissions.through.objects.count(),
        "collections": Collection.objects.count(),
        "page permissions": GroupPagePermission.objects.count(),
        "collection permissions": GroupCollectionPermission.objects.count(),
        "workflows": Workflow.objects.count(),
        "workflow pages": WorkflowPage.objects.count(),
        "workflow tasks": WorkflowTask.objects.count(),
        "tasks": Task.objects.count(),
        "task groups": GroupApprovalTask.groups.through.objects.count(),
    }


def test_section_ensure_twice_changes_nothing(world):
    before = _counts()
    revisions = world.a.section.revisions.count()

    again = section_ensure(organization=world.a.organization)

    assert again.pk == world.a.section.pk
    assert _counts() == before
    assert world.a.section.revisions.count() == revisions


def test_section_ensure_sets_up_a_new_school(db):
    catalogue()
    school = OrganizationFactory(
        name="Charlie Motors", slug="charlie", kind=Organization.Kind.CARMAKER
    )

    section = section_ensure(organization=school)

    assert section.live
    assert section.title == "Charlie Motors"
    assert section.slug == "charlie"
    assert section.get_parent().specific_class is CourseIndexPage
    collection = organization_collection(school)
    assert collection.name == "Charlie Motors"
    assert collection.get_parent().pk == Collection.get_first_root_node().pk
    for name in ("charlie authors", "charlie reviewers", "Operators"):
        group = Group.objects.get(name=name)
        assert group.permissions.filter(codename="access_admin").exists()
    for name in ("charlie authors", "charlie reviewers"):
        codenames = set(
            GroupPagePermission.objects.filter(group__name=name, page=section).values_list(
                "permission__codename", flat=True
            )
        )
        assert codenames == {"add_page", "change_page", "lock_page"}
        media = set(
            GroupCollectionPermission.objects.filter(
                group__name=name, collection=collection
            ).values_list("permission__codename", flat=True)
        )
        assert media == {
            "add_image",
            "change_image",
            "choose_image",
            "add_document",
            "change_document",
            "choose_document",
        }
    workflow = section.get_workflow()
    assert "Charlie Motors" in workflow.name
    operators_may = GroupPagePermission.objects.filter(group__name="Operators", page=section)
    assert set(operators_may.values_list("permission__codename", flat=True)) == {"publish_page"}
    steps = [list(task.specific.groups.values_list("name", flat=True)) for task in workflow.tasks]
    assert steps == [["charlie reviewers"], ["Operators"]]


def test_every_section_shares_the_operators_step(world):
    first = world.a.section.get_workflow().tasks.last()
    second = world.b.section.get_workflow().tasks.last()

    assert first.pk == second.pk


def test_section_ensure_needs_a_catalogue(db):
    school = OrganizationFactory(slug="lonely")

    with pytest.raises(ValueError, match="catalogue"):
        section_ensure(organization=school)


def test_platforms_get_no_section(db):
    catalogue()
    platform = OrganizationFactory(slug="ridefast", kind=Organization.Kind.PLATFORM)

    with pytest.raises(ValueError):
        section_ensure(organization=platform)
    assert not CourseSectionPage.objects.exists()


# --- group membership -------------------------------------------------------------------------


def test_an_author_who_moves_school_authors_only_for_the_new_one(world):
    author = world.a.author
    author.organization = world.b.organization
    author.save()

    member_groups_sync(user=author)

    assert set(author.groups.values_list("name", flat=True)) == {"bravo authors"}


def test_syncing_leaves_a_reviewer_of_their_own_school_in_place(world):
    member_groups_sync(user=world.reviewer_a)

    assert set(world.reviewer_a.groups.values_list("name", flat=True)) == {
        "alpha authors",
        "alpha reviewers",
    }


def test_drivers_are_put_in_no_authoring_group(world):
    driver = DriverFactory()

    member_groups_sync(user=driver)

    assert not driver.groups.exists()


def test_an_operator_adding_an_author_in_the_admin_gives_them_their_section(client, world):
    charlie = OrganizationFactory(name="Charlie Auto", name_en="Charlie Auto", slug="charlie")
    as_user(client, world.superuser)
    response = client.post(
        reverse("wagtailusers_users:add"),
        {
            "mobile": "137 0000 0077",
            "email": "author@charlie.example",
            "first_name": "Wei",
            "last_name": "Lin",
            "display_name": "林老师",
            "organization": charlie.pk,
            "timezone": "",
            "password1": "a-strong-pass-123",
            "password2": "a-strong-pass-123",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    author = User.objects.get(mobile="+8613700000077")
    assert list(author.groups.values_list("name", flat=True)) == ["charlie authors"]
    section = organization_sections(charlie).get()
    client.force_login(author)
    assert client.get(reverse("wagtailadmin_pages:edit", args=[section.pk])).status_code == 200
