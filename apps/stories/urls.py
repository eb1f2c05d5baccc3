from django.urls import path

from apps.stories.views import backlog, board, links, planning, sprints, story

urlpatterns = [
    # backlog and story pages
    path("p/<str:key>/backlog/", backlog.backlog, name="project-backlog"),
    path("p/<str:key>/backlog/move/", backlog.backlog_move, name="project-backlog-move"),
    path("p/<str:key>/backlog/bulk/", backlog.backlog_bulk, name="project-backlog-bulk"),
    path("p/<str:key>/backlog/new/", backlog.backlog_create, name="project-backlog-create"),
    path("p/<str:key>/backlog/points/<str:story_key>/", backlog.backlog_points, name="project-backlog-points"),
    path("p/<str:key>/stories/<str:story_key>/", story.story_detail, name="story-detail"),
    path("p/<str:key>/stories/<str:story_key>/comment/", story.story_comment, name="story-comment"),
    path("p/<str:key>/stories/<str:story_key>/delete/", story.story_delete, name="story-delete"),
    path("p/<str:key>/stories/<str:story_key>/restore/", story.story_restore, name="story-restore"),
    path("p/<str:key>/stories/<str:story_key>/preview/", story.story_preview, name="story-preview"),
    # quick changes, from the board's side panel (the story's ?panel=1 fragment) and the page
    path(
        "p/<str:key>/stories/<str:story_key>/block/", story.story_quick_change, {"action": "block"}, name="story-block"
    ),
    path(
        "p/<str:key>/stories/<str:story_key>/unblock/",
        story.story_quick_change,
        {"action": "unblock"},
        name="story-unblock",
    ),
    path(
        "p/<str:key>/stories/<str:story_key>/assign/",
        story.story_quick_change,
        {"action": "assign"},
        name="story-assign",
    ),
    path(
        "p/<str:key>/stories/<str:story_key>/estimate/",
        story.story_quick_change,
        {"action": "estimate"},
        name="story-estimate",
    ),
    # links (page and panel)
    path("p/<str:key>/stories/<str:story_key>/links/", links.story_link_add, name="story-link-add"),
    path(
        "p/<str:key>/stories/<str:story_key>/links/<int:link_id>/remove/",
        links.story_link_remove,
        name="story-link-remove",
    ),
    path("p/<str:key>/stories/<str:story_key>/duplicate/", links.story_close_duplicate, name="story-close-duplicate"),
    # planning
    path("p/<str:key>/planning/", planning.planning, name="project-planning"),
    path("p/<str:key>/planning/sprint/", planning.planning_sprint_create, name="project-planning-sprint"),
    # board (its live poll, project-board-live, is config/urls.py's first route)
    path("p/<str:key>/board/", board.board, name="project-board"),
    path("p/<str:key>/board/move/", board.board_move, name="project-board-move"),
    # sprints
    path("p/<str:key>/sprints/", sprints.sprints, name="project-sprints"),
    path("p/<str:key>/sprints/new/", sprints.sprint_new, name="project-sprint-new"),
    path("p/<str:key>/sprints/<int:sprint_id>/", sprints.sprint_detail, name="project-sprint"),
    path("p/<str:key>/sprints/<int:sprint_id>/edit/", sprints.sprint_edit, name="project-sprint-edit"),
    path("p/<str:key>/sprints/<int:sprint_id>/start/", sprints.sprint_start, name="project-sprint-start"),
    path("p/<str:key>/sprints/<int:sprint_id>/delete/", sprints.sprint_delete, name="project-sprint-delete"),
    path("p/<str:key>/sprints/<int:sprint_id>/close/", sprints.sprint_close, name="project-sprint-close"),
]
