from django.urls import path

from rewards import statement_views, views

app_name = "rewards"

urlpatterns = [
    path("links/", views.links, name="links"),
    *statement_views.urlpatterns,
]
