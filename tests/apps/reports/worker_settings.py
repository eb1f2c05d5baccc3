"""Settings of the Celery workers the integration tests start: the real ones, plus a slow step.

``SPRINTBOARD_TEST_REPORT_STEP_DELAY`` seconds are slept between a report's progress steps, so a
test can kill a worker in the middle of a report.
"""

import os

from config.settings import *  # noqa: F403

REPORTS_STEP_DELAY = float(os.environ.get("SPRINTBOARD_TEST_REPORT_STEP_DELAY", "0"))
# Look for unacknowledged messages older than the visibility timeout every second (kombu's default is
# every ~100 s), so a killed worker's task comes back within seconds in the tests.
CELERY_BROKER_TRANSPORT_OPTIONS = {  # noqa: F405
    **CELERY_BROKER_TRANSPORT_OPTIONS,  # noqa: F405
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
