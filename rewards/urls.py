from django.urls import path

from rewards import payout_views, statement_views, views

app_name = "rewards"

urlpatterns = [
    path("links/", views.links, name="links"),
    path("rules/", views.rules_page, name="rules"),
    *statement_views.urlpatterns,
    *payout_views.urlpatterns,
]
