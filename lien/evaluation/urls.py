from django.urls import path

from lien.evaluation import views

app_name = "evaluation"

urlpatterns = [
    path("evaluations/", views.evaluation_list, name="evaluation_list"),
    path("evaluations/nouvelle/", views.evaluation_create, name="evaluation_create"),
    path("evaluations/<uuid:pk>/", views.evaluation_detail, name="evaluation_detail"),
    path("evaluations/<uuid:pk>/modifier/", views.evaluation_edit, name="evaluation_edit"),
    path(
        "evaluations/<uuid:pk>/auto-evaluation/", views.evaluation_assess, name="evaluation_assess"
    ),
    path(
        "evaluations/<uuid:evaluation_pk>/couts-evites/nouveau/",
        views.avoided_cost_create,
        name="avoided_cost_create",
    ),
    path(
        "evaluations/couts-evites/<uuid:pk>/supprimer/",
        views.avoided_cost_delete,
        name="avoided_cost_delete",
    ),
    path("evaluations/enquetes/nouvelle/", views.survey_create, name="survey_create"),
    path("evaluations/enquetes/<uuid:pk>/", views.survey_detail, name="survey_detail"),
    # Public: the token is the permission (no account).
    path("enquete/<str:survey_token>/", views.survey_answer, name="survey_answer"),
]
