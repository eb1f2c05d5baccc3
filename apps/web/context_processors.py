from django.conf import settings


def navigation(request):
    return {"board_poll_interval_ms": settings.BOARD_POLL_INTERVAL_MS}
