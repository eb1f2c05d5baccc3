"""A web worker loads the views, the URL resolvers and every template while it starts (config/wsgi.py calls
apps.core.warmup.warm_up), not on the first requests it serves: a cold worker's first board request took
~0.7 s, and the requests behind it waited as long. The warm-up touches neither database nor cache."""

from __future__ import annotations

import json
import subprocess
import sys

from django.template import engines

from apps.core.warmup import warm_up
from tests.deploy.environment import REPO, production_environment

PROBE = """
import json, sys
from django.template import engines
from django.urls import get_resolver
import config.wsgi
cache = engines["django"].engine.template_loaders[0].get_template_cache
print(json.dumps({
    "board_views": "apps.stories.views.board" in sys.modules,
    "api_views": "config.api_urls" in sys.modules,
    "populated": get_resolver()._populated,
    "templates": sorted(cache),
}))
"""


def test_loading_the_wsgi_application_imports_the_views_and_compiles_the_templates() -> None:
    # The production settings name a database host that does not exist: the warm-up must not need it.
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO,
        env=production_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["board_views"] and loaded["api_views"] and loaded["populated"]
    for page in ("stories/board.html", "stories/backlog.html", "stories/story.html", "stories/_board.html"):
        assert page in loaded["templates"], page


def test_every_template_compiles() -> None:
    done = warm_up()
    assert done["failed"] == 0
    assert done["resolvers"] > 10
    own = list((REPO / "apps").rglob("templates/**/*.html"))
    assert done["templates"] >= len(own) > 50
    assert engines["django"].get_template("stories/board.html")
