"""The screen cache on its own: freshness, single flight, what is never kept, forgetting and its bound."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from k12_gateway.screens.cache import ScreenCache
from k12_gateway.screens.compose import settled

DISTRICT_A, DISTRICT_B = uuid.uuid4(), uuid.uuid4()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def composer(body: bytes = b"{}", keep: bool = True, pause_s: float = 0.0):
    calls = []

    async def compose() -> tuple[bytes, bool]:
        calls.append(1)
        await asyncio.sleep(pause_s)
        return body, keep

    return compose, calls


async def test_a_kept_screen_is_served_until_it_is_no_longer_fresh():
    clock = Clock()
    cache = ScreenCache(fresh_s=5, clock=clock)
    compose, calls = composer(b'{"a": 1}')
    assert await cache.compose_once("k", DISTRICT_A, compose) == (b'{"a": 1}', True)
    clock.now += 4.5
    assert cache.fresh("k") == (b'{"a": 1}', 4.5)
    clock.now += 0.5
    assert cache.fresh("k") is None
    assert len(calls) == 1


async def test_concurrent_misses_share_one_composition():
    cache = ScreenCache(fresh_s=5)
    compose, calls = composer(b"screen", pause_s=0.05)
    answers = await asyncio.gather(*(cache.compose_once("k", DISTRICT_A, compose) for _ in range(10)))
    assert len(calls) == 1
    assert sorted(composed for _, composed in answers) == [False] * 9 + [True]
    assert {body for body, _ in answers} == {b"screen"}


async def test_a_failed_composition_fails_every_waiter_and_is_not_kept():
    cache = ScreenCache(fresh_s=5)

    async def broken() -> tuple[bytes, bool]:
        await asyncio.sleep(0.02)
        raise RuntimeError("metrics down")

    answers = await asyncio.gather(*(cache.compose_once("k", DISTRICT_A, broken) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(a, RuntimeError) for a in answers)
    assert cache.fresh("k") is None
    compose, calls = composer()
    await cache.compose_once("k", DISTRICT_A, compose)  # the next call composes again
    assert len(calls) == 1


async def test_a_screen_with_a_part_lost_to_a_failing_service_is_not_kept():
    cache = ScreenCache(fresh_s=5)
    compose, _ = composer(keep=False)
    await cache.compose_once("k", DISTRICT_A, compose)
    assert cache.fresh("k") is None


@pytest.mark.parametrize(
    ("missing", "expected"),
    [
        ([], True),
        ([{"part": "score", "reason": "metrics answered 404"}], True),  # no score yet: the same answer next time
        ([{"part": "score", "reason": "metrics answered 503"}], False),
        ([{"part": "goals", "reason": "routines timed out"}], False),
        ([{"part": "goals", "reason": "routines unavailable"}], False),
    ],
)
def test_only_lasting_refusals_leave_a_screen_settled(missing, expected):
    assert settled({"missing": missing}) is expected


async def test_a_write_forgets_the_writers_districts_and_a_platform_write_forgets_all():
    cache = ScreenCache(fresh_s=5)
    for key, district in (("a1", DISTRICT_A), ("a2", DISTRICT_A), ("b", DISTRICT_B)):
        await cache.compose_once(key, district, composer()[0])
    cache.forget_districts(frozenset({DISTRICT_A}))
    assert cache.fresh("a1") is None and cache.fresh("a2") is None
    assert cache.fresh("b") is not None
    cache.forget_districts(None)
    assert cache.fresh("b") is None


async def test_the_least_recently_read_screen_goes_first_beyond_the_bound():
    cache = ScreenCache(fresh_s=5, max_entries=2)
    await cache.compose_once("old", DISTRICT_A, composer()[0])
    await cache.compose_once("read", DISTRICT_A, composer()[0])
    cache.fresh("old")  # read again: now the most recent
    await cache.compose_once("new", DISTRICT_A, composer()[0])
    assert cache.fresh("read") is None
    assert cache.fresh("old") is not None and cache.fresh("new") is not None


async def test_a_disabled_cache_keeps_nothing():
    cache = ScreenCache(fresh_s=0)
    await cache.compose_once("k", DISTRICT_A, composer()[0])
    assert not cache.enabled and cache.fresh("k") is None


async def test_a_screen_due_for_refresh_is_served_while_it_is_recomposed_in_the_background():
    clock = Clock()
    cache = ScreenCache(fresh_s=5, clock=clock)
    await cache.compose_once("k", DISTRICT_A, composer(b"old")[0])
    clock.now += 3.5
    body, age_s = cache.fresh("k")
    assert (body, cache.due_for_refresh(age_s)) == (b"old", True)
    compose, calls = composer(b"new", pause_s=0.02)
    cache.refresh_ahead("k", DISTRICT_A, compose)
    cache.refresh_ahead("k", DISTRICT_A, compose)  # one refresh at a time per screen
    assert cache.fresh("k") == (b"old", 3.5)  # still served while the refresh runs
    await asyncio.sleep(0.05)
    assert cache.fresh("k") == (b"new", 0.0) and len(calls) == 1


async def test_a_failed_or_partial_refresh_leaves_the_kept_screen_until_it_expires():
    clock = Clock()
    cache = ScreenCache(fresh_s=5, clock=clock)
    await cache.compose_once("k", DISTRICT_A, composer(b"whole")[0])
    clock.now += 4

    async def broken() -> tuple[bytes, bool]:
        raise RuntimeError("metrics-api went away")

    cache.refresh_ahead("k", DISTRICT_A, broken)
    cache.refresh_ahead("k", DISTRICT_A, composer(b"partial", keep=False)[0])
    await asyncio.sleep(0.01)
    assert cache.fresh("k") == (b"whole", 4)
    clock.now += 1
    assert cache.fresh("k") is None


async def test_a_composition_overtaken_by_a_write_to_its_district_is_not_kept():
    cache = ScreenCache(fresh_s=5)
    composing = asyncio.create_task(cache.compose_once("a", DISTRICT_A, composer(b"before the write", pause_s=0.03)[0]))
    other = asyncio.create_task(cache.compose_once("b", DISTRICT_B, composer(b"b", pause_s=0.03)[0]))
    await asyncio.sleep(0.01)
    cache.forget_districts(frozenset({DISTRICT_A}))
    assert (await composing)[0] == b"before the write"  # answered to whoever asked, but not kept
    await other
    assert cache.fresh("a") is None and cache.fresh("b") is not None
    platform_wide = asyncio.create_task(cache.compose_once("b", DISTRICT_B, composer(b"b2", pause_s=0.03)[0]))
    await asyncio.sleep(0.01)
    cache.forget_districts(None)
    await platform_wide
    assert cache.fresh("b") is None
