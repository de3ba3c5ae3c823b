from django.urls import path

from lien.steering import views

app_name = "steering"

urlpatterns = [
    path("pilotage/", views.agreement_list, name="framework_list"),
    path("pilotage/conventions/nouvelle/", views.agreement_create, name="framework_create"),
    path("pilotage/conventions/<uuid:pk>/", views.agreement_detail, name="framework_detail"),
    path("pilotage/conventions/<uuid:pk>/modifier/", views.agreement_edit, name="framework_edit"),
    path("pilotage/conventions/<uuid:framework_pk>/cibles/", views.target_set, name="target_set"),
    path("pilotage/cibles/<uuid:pk>/supprimer/", views.target_delete, name="target_delete"),
    path(
        "pilotage/conventions/<uuid:framework_pk>/experimentations/nouvelle/",
        views.experiment_create,
        name="experiment_create",
    ),
    path(
        "pilotage/experimentations/<uuid:pk>/modifier/",
        views.experiment_edit,
        name="experiment_edit",
    ),
    path(
        "pilotage/conventions/<uuid:framework_pk>/reunions/nouvelle/",
        views.meeting_create,
        name="meeting_create",
    ),
    path("pilotage/reunions/<uuid:pk>/", views.meeting_detail, name="meeting_detail"),
    path("pilotage/reunions/<uuid:pk>/modifier/", views.meeting_edit, name="meeting_edit"),
    path(
        "pilotage/reunions/<uuid:meeting_pk>/decisions/nouvelle/",
        views.decision_create,
        name="decision_create",
    ),
    path("pilotage/decisions/<uuid:pk>/modifier/", views.decision_edit, name="decision_edit"),
    path("rapports/", views.report_list, name="generated_report_list"),
    path("rapports/<uuid:pk>/", views.report_detail, name="generated_report_detail"),
    path(
        "rapports/<uuid:pk>/pdf/",
        views.report_download,
        {"fmt": "pdf"},
        name="generated_report_pdf",
    ),
    path(
        "rapports/<uuid:pk>/xlsx/",
        views.report_download,
        {"fmt": "xlsx"},
        name="generated_report_xlsx",
    ),
]
