from django.contrib.auth import views as auth_views
from django.urls import path

from apps.web import views

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="web/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/", views.account, name="account"),
    path("account/password/", views.PasswordChangeView.as_view(), name="password-change"),
    path("account/tokens/", views.token_create, name="token-create"),
    path("account/tokens/<int:token_id>/revoke/", views.token_revoke, name="token-revoke"),
    path("p/<str:key>/", views.project_home, name="project-home"),
    path("docs/metrics/", views.metrics_guide, name="metrics-guide"),
    path("search/", views.search, name="search"),
]
