from django.urls import path

from apps.stories import api

urlpatterns = [
    path("projects/<str:key>/stories/", api.StoryList.as_view(), name="api-stories"),
    path("projects/<str:key>/backlog/", api.BacklogList.as_view(), name="api-backlog"),
    path("projects/<str:key>/backlog/move/", api.BacklogMove.as_view(), name="api-backlog-move"),
    path("projects/<str:key>/epics/", api.EpicList.as_view(), name="api-epics"),
    path("projects/<str:key>/epics/<int:item_id>/", api.EpicDetail.as_view(), name="api-epic"),
    path("projects/<str:key>/labels/", api.LabelList.as_view(), name="api-labels"),
    path("projects/<str:key>/labels/<int:item_id>/", api.LabelDetail.as_view(), name="api-label"),
    path("projects/<str:key>/sprints/", api.SprintList.as_view(), name="api-sprints"),
    path("stories/<str:story_key>/", api.StoryDetail.as_view(), name="api-story"),
    path("stories/<str:story_key>/restore/", api.StoryRestore.as_view(), name="api-story-restore"),
    path("stories/<str:story_key>/move/", api.StoryMove.as_view(), name="api-story-move"),
    path("stories/<str:story_key>/events/", api.StoryEvents.as_view(), name="api-story-events"),
    path("stories/<str:story_key>/comments/", api.StoryComments.as_view(), name="api-story-comments"),
    path("stories/<str:story_key>/links/", api.StoryLinks.as_view(), name="api-story-links"),
    path("stories/<str:story_key>/links/<int:link_id>/", api.StoryLinkDetail.as_view(), name="api-story-link"),
    path("sprints/<int:sprint_id>/", api.SprintDetail.as_view(), name="api-sprint"),
    path("sprints/<int:sprint_id>/start/", api.SprintStart.as_view(), name="api-sprint-start"),
    path("sprints/<int:sprint_id>/close/", api.SprintClose.as_view(), name="api-sprint-close"),
]
