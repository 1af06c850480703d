from django.urls import path

from courses import views

app_name = "courses"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("courses/<int:page_id>/enrol/", views.enrol, name="enrol"),
    path("courses/<int:page_id>/buy/", views.purchase, name="purchase"),
    path("courses/purchase/return/", views.purchase_return, name="purchase_return"),
    path("courses/purchase/<uuid:public_id>/", views.purchase_status, name="purchase_status"),
    path("lessons/<int:page_id>/complete/", views.lesson_complete, name="lesson_complete"),
    path(
        "lessons/<int:page_id>/complete.json",
        views.lesson_complete_sync,
        name="lesson_complete_sync",
    ),
    path("offline/", views.offline, name="offline"),
    path("lessons/<int:page_id>/quiz/", views.quiz_submit, name="quiz_submit"),
]
