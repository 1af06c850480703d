from wagtail import hooks

from cms.viewsets import organization_viewset


@hooks.register("register_admin_viewset")
def register_organization_viewset():
    return organization_viewset
