from django.urls import path

from lien.jobs import views

app_name = "jobs"

urlpatterns = [
    path("emplois/", views.post_list, name="post_list"),
    path("emplois/postes/nouveau/", views.post_create, name="post_create"),
    path("emplois/postes/<uuid:pk>/", views.post_detail, name="post_detail"),
    path("emplois/postes/<uuid:pk>/modifier/", views.post_edit, name="post_edit"),
    path("emplois/postes/<uuid:pk>/repartition/", views.post_shares, name="post_shares"),
    path(
        "emplois/postes/<uuid:post_pk>/contrats/nouveau/",
        views.contract_create,
        name="contract_create",
    ),
    path("emplois/contrats/<uuid:pk>/modifier/", views.contract_edit, name="contract_edit"),
    path("emplois/personnes/", views.mediator_list, name="mediator_list"),
    path("emplois/personnes/nouvelle/", views.mediator_create, name="mediator_create"),
    path("emplois/personnes/<uuid:pk>/modifier/", views.mediator_edit, name="mediator_edit"),
    path("emplois/financements/nouveau/", views.funding_create, name="funding_create"),
    path("emplois/financements/<uuid:pk>/modifier/", views.funding_edit, name="funding_edit"),
    path("emplois/formations/", views.training_list, name="training_list"),
    path("emplois/formations/nouvelle/", views.training_create, name="training_create"),
    path("emplois/formations/<uuid:pk>/modifier/", views.training_edit, name="training_edit"),
    path(
        "emplois/analyses-de-pratiques/nouvelle/",
        views.practice_review_create,
        name="practice_review_create",
    ),
    path(
        "emplois/analyses-de-pratiques/<uuid:pk>/modifier/",
        views.practice_review_edit,
        name="practice_review_edit",
    ),
]
