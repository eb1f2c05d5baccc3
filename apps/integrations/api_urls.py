from django.urls import path

from apps.integrations import api

urlpatterns = [
    path("projects/<str:key>/integrations/", api.IntegrationSettings.as_view(), name="api-integrations"),
    path("projects/<str:key>/integrations/github/", api.GitHubReceiver.as_view(), name="api-integrations-github"),
    path("projects/<str:key>/integrations/gitlab/", api.GitLabReceiver.as_view(), name="api-integrations-gitlab"),
    path("projects/<str:key>/integrations/slack/", api.SlackReceiver.as_view(), name="api-integrations-slack"),
    path("stories/<str:story_key>/code/", api.StoryCode.as_view(), name="api-story-code"),
]
