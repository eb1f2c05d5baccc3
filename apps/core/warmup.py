"""Load what Django otherwise loads on a process's first requests, before the process takes any.

Django imports the URLconf (and with it every view module), builds the URL resolvers and compiles
each template the first time a request needs them. In a fresh web worker that made the first board
request take ~0.7 s instead of ~20 ms, and the requests queued behind it waited as long: after every
deploy, scale-up or worker restart the first people in paid for it (``make load`` saw it as the board's
p95). ``config/wsgi.py`` calls ``warm_up()`` once the application is built, so gunicorn loads all of
this while a worker starts (before it accepts a connection and before gunicorn.conf.py's ``gc.freeze``)
instead of while somebody waits.

No database or cache is touched: only imports, resolvers and compiled templates.
"""

from __future__ import annotations

import logging
from pathlib import Path

from django.template import TemplateSyntaxError, engines
from django.template.backends.django import DjangoTemplates
from django.template.utils import get_app_template_dirs
from django.urls import URLResolver, get_resolver

logger = logging.getLogger(__name__)


def _populate(resolver: URLResolver) -> int:
    """Build ``resolver``'s and every included resolver's lookup tables; return how many resolvers."""
    resolver.reverse_dict  # noqa: B018 (the property builds the tables)
    count = 1
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            count += _populate(pattern)
    return count


def _template_names(engine: DjangoTemplates) -> set[str]:
    roots = [Path(d) for d in engine.engine.dirs]
    if engine.engine.app_dirs:
        roots += [Path(d) for d in get_app_template_dirs("templates")]
    return {
        path.relative_to(root).as_posix()
        for root in roots
        for path in root.rglob("*")
        if path.is_file() and path.suffix in {".html", ".txt", ".xml"}
    }


def warm_up() -> dict[str, int]:
    """Populate the URL resolvers and compile every template of the project and its apps.

    Returns what it did (``resolvers``, ``templates`` compiled, ``failed``), for the tests. A template
    that does not compile is logged and skipped: it fails when a page uses it, as it would have without
    the warm-up, and does not keep the worker from starting (the tests require that none fails).
    """
    done = {"resolvers": _populate(get_resolver()), "templates": 0, "failed": 0}
    for engine in engines.all():
        if not isinstance(engine, DjangoTemplates):
            continue
        for name in sorted(_template_names(engine)):
            try:
                engine.get_template(name)  # the cached loader keeps it compiled for the process
            except TemplateSyntaxError:
                logger.warning("warm-up: template %s does not compile", name, exc_info=True)
                done["failed"] += 1
            else:
                done["templates"] += 1
    return done
