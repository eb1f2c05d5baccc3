"""Signals the apps below may listen to; projects never import their listeners.

``state_deleting`` is sent inside ``state_delete``'s transaction, with the project's row locked, when the
admin asked for the state's stories to be moved first: ``state=`` the state, ``move_to=`` the state that
takes its stories, ``actor=`` who asked. apps.stories moves them through its services (one ``state`` event
each); a listener's error rolls the deletion back.

``state_recategorised`` is sent inside ``state_update``'s transaction, project locked, when a state's category
changed, with ``state=``: what counts as started or finished changed for the whole history, so apps.stories
rebuilds its stories' flow projection from the log.
"""

from django.dispatch import Signal

state_deleting = Signal()
state_recategorised = Signal()
