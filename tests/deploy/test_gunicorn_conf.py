"""gunicorn.conf.py: a worker that has loaded the app leaves what it loaded out of the garbage collector's full
passes (a full pass over a warm worker's ~150,000 objects took ~150 ms of CPU on the CI machine)."""

from __future__ import annotations

import gc
import runpy

from tests.deploy.environment import REPO


def test_a_worker_freezes_what_it_loaded_and_a_full_collection_then_skips_it() -> None:
    conf = runpy.run_path(str(REPO / "gunicorn.conf.py"))
    kept = [[n] for n in range(20_000)]  # long-lived objects, as a loaded app's are
    conf["post_worker_init"](worker=None)
    try:
        assert gc.get_freeze_count() >= len(kept)
        assert not any(o is kept[0] for o in gc.get_objects()), "frozen: no collection looks at it"
    finally:
        gc.unfreeze()
    assert any(o is kept[0] for o in gc.get_objects())
