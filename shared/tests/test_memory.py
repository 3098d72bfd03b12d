"""A service takes its startup heap out of the cyclic collector's view once it has started."""

from __future__ import annotations

import gc

from k12shared.app import create_service_app
from k12shared.memory import YOUNG_GENERATION_THRESHOLD


async def test_startup_heap_frozen_and_young_generation_collected_less_often() -> None:
    app = create_service_app("memory-test", title="t", description="d", routers=[])
    threshold = gc.get_threshold()
    try:
        async with app.router.lifespan_context(app):
            assert gc.get_freeze_count() > 0
            assert gc.get_threshold()[0] == YOUNG_GENERATION_THRESHOLD
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
