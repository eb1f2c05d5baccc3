"""Signals the apps below may listen to; projects never import their listeners.

``state_deleting`` is sent inside ``state_delete``'s transaction, with the project's row locked, when the
admin asked for the state's stories to be moved first: ``state=`` the state, ``move_to=`` the state that
takes its stories, ``actor=`` who asked. apps.stories moves them through its services (one ``state`` event
each); a listener's error rolls the deletion back.

``flow_definitions_changed`` is sent inside the transaction of ``state_update`` (a state's category changed:
what counts as started or finished, all along) or ``project_update`` (the time zone changed: which days a
cycle time spans), with ``project=``: apps.stories rebuilds its stories' flow projection from the log.
"""

from django.dispatch import Signal

state_deleting = Signal()
flow_definitions_changed = Signal()
