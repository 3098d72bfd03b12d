"""Refuse subscription URLs that point inside the network (SSRF). Production refuses private,
loopback, link-local and reserved addresses; development and test allow loopback only, so a
test can run a local receiver."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from k12shared.errors import Unprocessable
from k12shared.settings import Settings


def _refused(address: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_loopback: bool) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_loopback:
        return not allow_loopback
    return address.is_private or address.is_link_local or address.is_reserved or address.is_multicast or address.is_unspecified


async def resolve(host: str) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return sorted({info[4][0] for info in infos})


async def check_url(url: str, settings: Settings) -> None:
    """Raise 422 when the URL is not http(s) or any address it resolves to is refused."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise Unprocessable("The URL must be http(s) with a host", field="url")
    if settings.is_production and parts.scheme != "https":
        raise Unprocessable("Webhook URLs must use https", field="url")
    try:
        addresses = await resolve(parts.hostname)
    except OSError:
        raise Unprocessable(f"The host '{parts.hostname}' does not resolve", field="url") from None
    allow_loopback = not settings.is_production
    for text in addresses:
        if _refused(ipaddress.ip_address(text.split("%")[0]), allow_loopback):
            raise Unprocessable(f"The URL resolves to a private or internal address ({text}); refused", field="url", slug="ssrf-refused")
