"""A few seconds' memory of composed screens, per caller.

A dashboard costs some twenty reads of three services, and the same caller asks for it again and again
(a browser refreshing, several tabs, a partner polling). Each caller's screen is kept for
``screen_cache_fresh_s`` seconds:

- the key is the caller's whole identity (subject, roles, districts, schools, scopes) and the screen's
  arguments, so no caller is ever served a screen composed for another;
- concurrent misses for one key share one composition (single flight);
- a screen with a part lost to a failing service is never kept: the next call asks the service again;
- a successful write through this gateway drops the screens of the writer's districts, so a user sees
  their own change at once (a composition that started before the write is not kept either); changes
  arriving otherwise (a data load, another gateway replica) show within ``screen_cache_fresh_s``;
- a screen past ``REFRESH_AHEAD_AT`` of its freshness is recomposed in the background while it is still
  served, so a caller who keeps asking never waits for a composition and never sees an older screen;
- ``Cache-Control: no-cache`` on the request composes afresh.

The screens hold private student-derived data whose every read is audited: the services audit the
composing call, and the gateway audits each answer served from memory.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass

log = logging.getLogger("k12.gateway.screens")
MAX_ENTRIES = 5_000
REFRESH_AHEAD_AT = 0.6  # of fresh_s


@dataclass(frozen=True)
class CachedScreen:
    body: bytes
    district_id: uuid.UUID
    stored_at: float


Compose = Callable[[], Awaitable[tuple[bytes, bool]]]  # (rendered body, whether it may be kept)


class ScreenCache:
    def __init__(self, fresh_s: float, max_entries: int = MAX_ENTRIES, clock: Callable[[], float] = time.monotonic) -> None:
        self.fresh_s = fresh_s
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[Hashable, CachedScreen] = OrderedDict()
        self._composing: dict[Hashable, asyncio.Future[tuple[bytes, bool]]] = {}
        self._refreshing: set[asyncio.Task] = set()
        # Bumped by every forget: a composition keeps its screen only if no write touched its district meanwhile.
        self._writes: Counter[uuid.UUID | None] = Counter()

    @property
    def enabled(self) -> bool:
        return self.fresh_s > 0

    def fresh(self, key: Hashable) -> tuple[bytes, float] | None:
        """``(body, age in seconds)`` of the key's screen while it is fresh."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        age_s = self._clock() - entry.stored_at
        if age_s >= self.fresh_s:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry.body, age_s

    async def compose_once(self, key: Hashable, district_id: uuid.UUID, compose: Compose) -> tuple[bytes, bool]:
        """``(body, composed by this call)``: compose the screen, or share the composition under way for the key."""
        pending = self._composing.get(key)
        if pending is not None:
            body, _ = await asyncio.shield(pending)
            return body, False
        future: asyncio.Future[tuple[bytes, bool]] = asyncio.get_running_loop().create_future()
        self._composing[key] = future
        writes_before = self._writes_to(district_id)
        try:
            body, keep = await compose()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so a failure nobody else waited for is not reported as lost
            raise
        else:
            future.set_result((body, keep))
            if keep and self.enabled and self._writes_to(district_id) == writes_before:
                self._store(key, CachedScreen(body, district_id, self._clock()))
            return body, True
        finally:
            del self._composing[key]

    def due_for_refresh(self, age_s: float) -> bool:
        return age_s >= self.fresh_s * REFRESH_AHEAD_AT

    def refresh_ahead(self, key: Hashable, district_id: uuid.UUID, compose: Compose) -> None:
        """Recompose a still-fresh screen in the background (once at a time per key); it replaces the kept
        one when it completes whole. Until then, and if it fails, the kept one is served while fresh."""
        if key in self._composing:
            return
        task = asyncio.create_task(self._refresh(key, district_id, compose))
        self._refreshing.add(task)
        task.add_done_callback(self._refreshing.discard)

    async def _refresh(self, key: Hashable, district_id: uuid.UUID, compose: Compose) -> None:
        try:
            await self.compose_once(key, district_id, compose)
        except Exception as exc:  # nobody waits for it: the caller was answered from memory
            log.warning("screen refresh failed", extra={"error": type(exc).__name__})

    def _writes_to(self, district_id: uuid.UUID) -> tuple[int, int]:
        return self._writes[district_id], self._writes[None]

    def forget_districts(self, district_ids: frozenset[uuid.UUID] | None) -> None:
        """Drop the screens of these districts; ``None`` drops every screen (a platform-wide write)."""
        if district_ids is None:
            self._writes[None] += 1
            self._entries.clear()
            return
        self._writes.update(district_ids)
        for key in [k for k, entry in self._entries.items() if entry.district_id in district_ids]:
            del self._entries[key]

    def _store(self, key: Hashable, entry: CachedScreen) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
