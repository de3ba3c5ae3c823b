from django.urls import path

from lien.core import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("rattachement/", views.switch_membership, name="switch_membership"),
]
