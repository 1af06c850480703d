"""Point Wagtail's user admin at our forms (the documented way to customise them)."""

from wagtail.users.apps import WagtailUsersAppConfig


class RoadwiseUsersAppConfig(WagtailUsersAppConfig):
    user_viewset = "cms.viewsets.UserViewSet"
