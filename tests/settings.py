"""The settings the test suite runs with: production's, and every difference written here.

pytest-django loads this module (``pyproject.toml``); nothing in ``config/settings.py`` asks whether
it is under test. The differences: a fixed key, cookies over plain HTTP (the live test server is
not HTTPS), a fast password hasher, and static files served from the finders (no collectstatic).
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-suite-only-not-a-secret-" + "x" * 40)

from config.settings import *  # noqa: E402, F403

SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
# The suite sends thousands of API requests a minute from one address: throttling tests set their own rates.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {"user": "100000/minute", "address": "100000/minute", "token_failure": "100000/minute"},
}
# django-axes logs every login at INFO (four lines each): thousands of test logins would bury real failures.
AXES_VERBOSE = False
