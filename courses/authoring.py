"""Each school and carmaker authors only inside its own section of the catalogue.

`section_ensure` gives an organisation everything its people need in the Wagtail admin, and
can be run any number of times (a second run changes nothing):

- its CourseSectionPage under the catalogue of the default language;
- a collection for its images and documents;
- two groups, "<slug> authors" and "<slug> reviewers". Both may add, edit and lock pages in
  the section, and add, edit and choose images and documents in the collection. Neither may
  publish: a course goes live only through the workflow;
- the workflow "<name> review" on the section: the organisation's reviewers approve first,
  then the site-wide "Operators" group; the final approval publishes the page (Wagtail's
  default WAGTAIL_FINISH_WORKFLOW_ACTION), or schedules it when it has a go-live date.
  Wagtail publishes as the user who gives the final approval and refuses if that user may
  not publish the page, so the Operators group may publish in every section. Reviewers
  need no publish permission: theirs is never the last approval.

`member_groups_sync` puts an author in their organisation's authors group. Reviewers are
chosen by operators (Settings → Users), never by this module.

What an author may *see* in the admin (explorer, choosers, search) is narrowed further in
courses/wagtail_hooks.py, using `organization_sections` and `organization_collection`."""

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext
from wagtail.models import (
    Collection,
    GroupApprovalTask,
    GroupCollectionPermission,
    GroupPagePermission,
    Locale,
    Workflow,
    WorkflowPage,
    WorkflowTask,
)

from cms.models import Organization, User
from courses.models import CourseIndexPage, CourseSectionPage

# Group names are identifiers (looked up by name), so they are not translated.
OPERATORS_GROUP = "Operators"

# What authors and reviewers may do on their section's pages. Not "publish": nothing goes
# live without the workflow. Not "unlock": only the person who locked a page unlocks it.
SECTION_PAGE_PERMISSIONS = ("add_page", "change_page", "lock_page")

# What the Operators group may do on every section: publish, which Wagtail requires of the
# user whose approval finishes the workflow.
OPERATOR_SECTION_PAGE_PERMISSIONS = ("publish_page",)

# What they may do with images and documents in their organisation's collection.
COLLECTION_PERMISSIONS = (
    ("wagtailimages", "add_image"),
    ("wagtailimages", "change_image"),
    ("wagtailimages", "choose_image"),
    ("wagtaildocs", "add_document"),
    ("wagtaildocs", "change_document"),
    ("wagtaildocs", "choose_document"),
)


def authors_group_name(organization: Organization) -> str:
    return f"{organization.slug} authors"


def reviewers_group_name(organization: Organization) -> str:
    return f"{organization.slug} reviewers"


@transaction.atomic
def section_ensure(*, organization: Organization) -> CourseSectionPage:
    """The organisation's course section in the default language, with its collection,
    groups, permissions and review workflow; each is created only when missing."""
    if not organization.is_author_org:
        raise ValueError(
            f"Only schools and carmakers have a course section, not {organization.slug!r} "
            f"({organization.kind})."
        )
    section = _section(organization)
    collection = _collection(organization)
    authors = _admin_group(authors_group_name(organization))
    reviewers = _admin_group(reviewers_group_name(organization))
    operators = operators_group()
    for group in (authors, reviewers):
        _grant_page_permissions(group, section, SECTION_PAGE_PERMISSIONS)
        _grant_collection_permissions(group, collection)
    _grant_page_permissions(operators, section, OPERATOR_SECTION_PAGE_PERMISSIONS)
    _review_workflow(organization, section, reviewers=reviewers, operators=operators)
    return section


def member_groups_sync(*, user: User) -> None:
    """Put an author in their organisation's authors group, and take them out of the
    authors and reviewers groups of every other organisation (they may have moved).
    Membership of their own organisation's reviewers group is left to operators."""
    organization = user.organization
    own = organization if organization is not None and organization.is_author_org else None
    managed = set()
    for slug in Organization.objects.values_list("slug", flat=True):
        managed.add(f"{slug} authors")
        managed.add(f"{slug} reviewers")
    if own is not None:
        managed -= {authors_group_name(own), reviewers_group_name(own)}
    stale = list(user.groups.filter(name__in=managed))
    if stale:
        user.groups.remove(*stale)
    if own is not None:
        user.groups.add(_admin_group(authors_group_name(own)))


def operators_group() -> Group:
    """The site-wide moderation group: the last step of every section's workflow."""
    return _admin_group(OPERATORS_GROUP)


def organization_sections(organization: Organization):
    """The organisation's sections, in every language."""
    return CourseSectionPage.objects.filter(organization=organization)


def organization_collection(organization: Organization) -> Collection | None:
    """The organisation's collection, if it has one (looked up, never created): the
    collection its authors group has permissions on, else a top-level collection named
    after the organisation."""
    granted = (
        Collection.objects.filter(
            depth__gt=1,
            group_permissions__group__name=authors_group_name(organization),
        )
        .order_by("path")
        .first()
    )
    if granted is not None:
        return granted
    root = Collection.get_first_root_node()
    return root.get_children().filter(name=organization.name).order_by("path").first()


# --- the parts ------------------------------------------------------------------------------


def _section(organization: Organization) -> CourseSectionPage:
    default = Locale.get_default()
    index = CourseIndexPage.objects.filter(locale=default).order_by("path").first()
    if index is not None:
        # Serialise concurrent calls on PostgreSQL so that one section is created, not two.
        CourseIndexPage.objects.select_for_update().filter(pk=index.pk).first()
    section = (
        CourseSectionPage.objects.filter(organization=organization, locale=default)
        .order_by("path")
        .first()
    )
    if section is not None:
        return section
    if index is None:
        raise ValueError(
            "There is no course catalogue (CourseIndexPage) in the default language to hold "
            f"the section of {organization.slug!r}."
        )
    section = CourseSectionPage(
        title=organization.name, slug=organization.slug, organization=organization
    )
    index.add_child(instance=section)
    section.save_revision().publish()
    return section


def _collection(organization: Organization) -> Collection:
    existing = organization_collection(organization)
    if existing is not None:
        return existing
    root = Collection.get_first_root_node()
    return root.add_child(instance=Collection(name=organization.name))


def _admin_group(name: str) -> Group:
    group, _ = Group.objects.get_or_create(name=name)
    access_admin = Permission.objects.get(
        content_type__app_label="wagtailadmin", codename="access_admin"
    )
    if not group.permissions.filter(pk=access_admin.pk).exists():
        group.permissions.add(access_admin)
    return group


def _grant_page_permissions(group: Group, section: CourseSectionPage, codenames) -> None:
    for codename in codenames:
        permission = Permission.objects.get(
            content_type__app_label="wagtailcore", codename=codename
        )
        GroupPagePermission.objects.get_or_create(group=group, page=section, permission=permission)


def _grant_collection_permissions(group: Group, collection: Collection) -> None:
    for app_label, codename in COLLECTION_PERMISSIONS:
        permission = Permission.objects.get(content_type__app_label=app_label, codename=codename)
        GroupCollectionPermission.objects.get_or_create(
            group=group, collection=collection, permission=permission
        )


def _review_workflow(
    organization: Organization,
    section: CourseSectionPage,
    *,
    reviewers: Group,
    operators: Group,
) -> Workflow:
    """The section's workflow: the organisation's reviewers, then the operators. An existing
    workflow on the section is kept (operators may have renamed it or added steps); only the
    two approvals are put back, first, when they are missing."""
    link = WorkflowPage.objects.filter(page=section).select_related("workflow").first()
    if link is not None:
        workflow = link.workflow
        if not workflow.active:
            workflow.active = True
            workflow.save(update_fields=["active"])
    else:
        workflow = Workflow.objects.create(
            name=_in_default_language(
                lambda: gettext("%(organization)s review") % {"organization": organization.name}
            )
        )
        WorkflowPage.objects.create(page=section, workflow=workflow)

    reviewers_task = _approval_task(
        workflow,
        reviewers,
        name=lambda: gettext("%(organization)s reviewers") % {"organization": organization.name},
    )
    operators_task = _approval_task(
        workflow,
        operators,
        name=lambda: gettext("Operators approval"),
        exclude=reviewers_task,
        shared=True,
    )
    _order_tasks(workflow, [reviewers_task, operators_task])
    return workflow


def _approval_task(workflow, group, *, name, exclude=None, shared=False) -> GroupApprovalTask:
    """The workflow's approval task for `group`; else (when `shared`) the one other
    sections' workflows already use for it; else a new one."""
    candidates = GroupApprovalTask.objects.filter(groups=group).order_by("pk")
    if exclude is not None:
        candidates = candidates.exclude(pk=exclude.pk)
    task = candidates.filter(workflow_tasks__workflow=workflow).first()
    if task is None and shared:
        task = candidates.filter(
            active=True,
            workflow_tasks__workflow__workflow_pages__page__in=CourseSectionPage.objects.all(),
        ).first()
    if task is None:
        task = GroupApprovalTask.objects.create(name=_in_default_language(name))
        task.groups.add(group)
    elif not task.active:
        task.active = True
        task.save(update_fields=["active"])
    return task


def _order_tasks(workflow: Workflow, first: list[GroupApprovalTask]) -> None:
    """Make `first` the workflow's first steps, in that order, keeping any other steps
    after them in their current order. Writes only what differs."""
    links = {link.task_id: link for link in WorkflowTask.objects.filter(workflow=workflow)}
    first_ids = [task.pk for task in first]
    others = sorted(
        (link for task_id, link in links.items() if task_id not in first_ids),
        key=lambda link: (link.sort_order is None, link.sort_order, link.pk),
    )
    wanted = first_ids + [link.task_id for link in others]
    for position, task_id in enumerate(wanted):
        link = links.get(task_id)
        if link is None:
            WorkflowTask.objects.create(workflow=workflow, task_id=task_id, sort_order=position)
        elif link.sort_order != position:
            link.sort_order = position
            link.save(update_fields=["sort_order"])


def _in_default_language(make_text) -> str:
    """Names stored in the database are written in the site's default language, whatever
    language the person or command that triggered their creation uses."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(make_text())
