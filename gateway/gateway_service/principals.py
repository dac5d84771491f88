"""Who an access token names, kept in memory while the database says nothing about them changed.

Every proxied call needs its login session (not revoked) and its user (active, roles,
institutions). Reading them costs a query per call; instead each gateway process keeps what it
read and listens on the database (LISTEN gateway_principal, sent by triggers on every change of a
user or a session, migration gateway_0005) to drop a user's entries as soon as they change.

Only a listener that is connected makes the copy usable: until it has subscribed, and whenever
its connection is lost, nothing is answered from memory (every call reads the database) and the
copy is emptied, since notifications sent meanwhile are gone. A read racing a notification is not
kept (the generation counter), and no entry outlives `ttl` seconds whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict

import asyncpg

from gateway_service.accounts import Principal

log = logging.getLogger("gateway.principals")

CHANNEL = "gateway_principal"  # as the triggers of migration gateway_0005 name it
PrincipalKey = tuple[uuid.UUID, uuid.UUID]  # (session, user)


class PrincipalCache:
    def __init__(self, ttl_seconds: float, max_entries: int = 20_000) -> None:
        self.ttl, self.max_entries = ttl_seconds, max_entries
        self._entries: OrderedDict[PrincipalKey, tuple[float, Principal]] = OrderedDict()
        self._sessions_of: dict[uuid.UUID, set[uuid.UUID]] = {}  # user -> sessions held, to forget a user at once
        self._generation = 0  # moves on every change heard of: a read begun before it is not kept
        self.live = False  # set by the listener while it is subscribed

    @property
    def generation(self) -> int:
        return self._generation

    def get(self, session_id: uuid.UUID, user_id: uuid.UUID) -> Principal | None:
        if not self.live:
            return None
        found = self._entries.get((session_id, user_id))
        if found is None:
            return None
        if time.monotonic() >= found[0]:
            self._drop((session_id, user_id))
            return None
        return found[1]

    def remember(self, principal: Principal, read_at_generation: int) -> None:
        """Keep what was read, unless a change was heard of since the read began."""
        if not self.live or self.ttl <= 0 or read_at_generation != self._generation:
            return
        key = (principal.session_id, principal.user_id)
        self._entries[key] = (time.monotonic() + self.ttl, principal)
        self._entries.move_to_end(key)
        self._sessions_of.setdefault(principal.user_id, set()).add(principal.session_id)
        while len(self._entries) > self.max_entries:
            self._drop(next(iter(self._entries)))

    def forget_user(self, user_id: uuid.UUID) -> None:
        self._generation += 1
        for session_id in self._sessions_of.pop(user_id, ()):
            self._entries.pop((session_id, user_id), None)

    def forget_all(self) -> None:
        self._generation += 1
        self._entries.clear()
        self._sessions_of.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, key: PrincipalKey) -> None:
        del self._entries[key]
        sessions = self._sessions_of.get(key[1])
        if sessions is not None:
            sessions.discard(key[0])
            if not sessions:
                del self._sessions_of[key[1]]

    def heard(self, payload: str) -> None:
        """A notification: the user it names changed (an unreadable one empties the copy)."""
        try:
            user_id = uuid.UUID(payload)
        except ValueError:
            log.warning("unreadable %s notification %r; forgetting everyone", CHANNEL, payload)
            self.forget_all()
            return
        self.forget_user(user_id)


async def listen_forever(dsn: str, cache: PrincipalCache, *, ping_seconds: float = 10.0,
                         retry_seconds: float = 1.0) -> None:
    """Keep `cache` live while subscribed to the database's notifications; reconnect when lost.
    A connection that stops answering (a ping every `ping_seconds`) counts as lost."""
    while True:
        try:
            await _listen(dsn, cache, ping_seconds)
            log.warning("the principal listener's connection closed; reconnecting")
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            log.warning("the principal listener is not connected: %s", error)
        except Exception:  # whatever it was, the memory is off meanwhile (`_listen`), and we try again
            log.exception("the principal listener failed")
        await asyncio.sleep(retry_seconds)


async def _listen(dsn: str, cache: PrincipalCache, ping_seconds: float) -> None:
    connection = await asyncpg.connect(dsn, server_settings={"application_name": "gateway-principals"},
                                       timeout=ping_seconds)
    lost = asyncio.Event()
    try:
        connection.add_termination_listener(lambda _: lost.set())
        await connection.add_listener(CHANNEL, lambda _c, _pid, _channel, payload: cache.heard(payload))
        cache.forget_all()  # whatever changed while nobody listened
        cache.live = True
        while not lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), ping_seconds)
            if not lost.is_set():
                await connection.fetchval("SELECT 1", timeout=ping_seconds)
    finally:
        cache.live = False
        cache.forget_all()
        if not connection.is_closed():
            connection.terminate()
