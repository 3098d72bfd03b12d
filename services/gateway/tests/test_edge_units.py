"""The edge's pure parts: CORS origins per environment, If-None-Match matching, sealed idempotent answers."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag

from k12_gateway.edge.conditional import _matches
from k12_gateway.edge.idempotency import StoredKey
from k12shared.settings import Settings
from k12shared.testing import production_settings


def test_development_allows_the_local_spa_dev_servers_and_production_only_configured_origins():
    dev = Settings(env="development", cors_origins=["https://district.example.org"])
    assert dev.allowed_origins == ["https://district.example.org", "http://localhost:5173", "http://localhost:3000"]
    prod = production_settings(cors_origins=["https://app.k12perform.example"])
    assert prod.allowed_origins == ["https://app.k12perform.example"]
    assert production_settings().allowed_origins == []


@pytest.mark.parametrize(
    ("condition", "etag", "expected"),
    [('"abc"', '"abc"', True), ('W/"abc"', '"abc"', True), ('"x", "abc"', '"abc"', True), ("*", '"abc"', True), ('"abd"', '"abc"', False)],
)
def test_if_none_match_uses_weak_comparison(condition, etag, expected):
    assert _matches(condition, etag) is expected


def test_a_stored_answer_opens_only_with_the_same_caller_key_and_secret():
    sealed = StoredKey.of("client:k12c_1", "key-1", "secret").seal(b'{"client_secret": "k12s_x"}')
    assert b"k12s_x" not in sealed
    assert StoredKey.of("client:k12c_1", "key-1", "secret").open(sealed) == b'{"client_secret": "k12s_x"}'
    for other in (StoredKey.of("client:k12c_2", "key-1", "secret"), StoredKey.of("client:k12c_1", "key-2", "secret"), StoredKey.of("client:k12c_1", "key-1", "rotated")):
        with pytest.raises(InvalidTag):
            other.open(sealed)
