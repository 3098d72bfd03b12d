"""Edge features of the gateway: caller identification, rate limits, idempotency keys, conditional GET.

Each is a pure ASGI middleware (bodies stay streamed) installed inside the request-context middleware,
so refused requests are still logged with their request id. State shared by the gateway's replicas
lives in PostgreSQL (``k12shared.models.edge``), reached through a small asyncpg pool of its own.
"""
