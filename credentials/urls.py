from django.urls import path

from credentials import views

app_name = "credentials"

urlpatterns = [
    path("issuers/<slug:slug>/did.json", views.did_document, name="did_document"),
]
