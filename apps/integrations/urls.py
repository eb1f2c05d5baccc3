from django.urls import path

from apps.integrations import views

urlpatterns = [
    path("p/<str:key>/settings/integrations/", views.integrations_page, name="project-integrations"),
]
