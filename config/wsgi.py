import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Import the views, build the URL resolvers and compile the templates now, while the worker starts,
# not on the first requests it serves (apps/core/warmup.py).
from apps.core.warmup import warm_up  # noqa: E402 (needs the configured app)

warm_up()
