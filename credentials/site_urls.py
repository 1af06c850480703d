"""The drivers' and the public's pages, in every language (/certificates/…, /verify/…)."""

from django.urls import path

from credentials import site_views as views

app_name = "certificates"

urlpatterns = [
    path("certificates/", views.certificate_list, name="list"),
    path("certificates/consents/", views.consents, name="consents"),
    path("certificates/<uuid:public_id>/", views.certificate_detail, name="detail"),
    path("certificates/<uuid:public_id>/share/", views.share, name="share"),
    path("certificates/<uuid:public_id>/<str:kind>", views.download, name="download"),
    path("verify/", views.verify_page, name="verify"),
    path("verify/<str:token>/", views.shared, name="shared"),
    path("verify/<str:token>/<str:kind>", views.shared_download, name="shared_download"),
]
