"""Machine-facing URLs, the same in every language: DID documents and status lists."""

from django.urls import path

from credentials import views

app_name = "credentials"

urlpatterns = [
    path("issuers/<slug:slug>/did.json", views.did_document, name="did_document"),
    path(
        "credentials/status/<slug:slug>/<str:purpose>/<int:number>",
        views.status_list,
        name="status_list",
    ),
]
