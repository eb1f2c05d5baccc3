"""Settings of the Celery workers the integration tests start: the real ones, plus a slow step.

``SPRINTBOARD_TEST_REPORT_STEP_DELAY`` seconds are slept after each of a report's progress steps, so
a test can kill a worker in the middle of a report. The delay is hooked into each pool process when
it starts (Celery's ``worker_process_init``); production code knows nothing of it.
"""

import os
import time

from celery.signals import worker_process_init

from config.settings import *  # noqa: F403

STEP_DELAY = float(os.environ.get("SPRINTBOARD_TEST_REPORT_STEP_DELAY", "0"))


@worker_process_init.connect
def slow_report_steps(**_: object) -> None:
    if not STEP_DELAY:
        return
    from apps.reports import services

    step = services._progress

    def slow_step(report_id: int, percent: int) -> None:
        step(report_id, percent)
        time.sleep(STEP_DELAY)

    services._progress = slow_step


# Look for unacknowledged messages older than the visibility timeout every second (kombu's default is
# every ~100 s), so a killed worker's task comes back within seconds in the tests.
CELERY_BROKER_TRANSPORT_OPTIONS = {  # noqa: F405
    **CELERY_BROKER_TRANSPORT_OPTIONS,  # noqa: F405
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
