"""A request body received once: hashed while it arrives, kept in memory up to a threshold and on
disk beyond it, then replayed to the upstream service as the same bytes (any number of times, so
a connection retry resends it whole). A 100 MB reconciliation file is never held in memory."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import AsyncIterable, AsyncIterator

import anyio.to_thread

# Disk writes and reads happen in a worker thread, a megabyte at a time, to keep the event loop free.
CHUNK_BYTES = 1024 * 1024


class SpooledBody:
    def __init__(self, memory_bytes: int) -> None:
        self.memory_bytes = memory_bytes
        self.file = tempfile.SpooledTemporaryFile(max_size=memory_bytes)  # noqa: SIM115 - closed by close()
        self.size = 0
        self._hash = hashlib.sha256()
        self._pending = bytearray()

    @property
    def sha256_hex(self) -> str:
        return self._hash.hexdigest()

    async def receive(self, chunks: AsyncIterable[bytes]) -> None:
        async for chunk in chunks:
            if not chunk:
                continue
            self._hash.update(chunk)
            self._pending += chunk
            if len(self._pending) >= CHUNK_BYTES:
                await self._write()
        await self._write()

    async def _write(self) -> None:
        if not self._pending:
            return
        data, self._pending = bytes(self._pending), bytearray()
        if self.size + len(data) <= self.memory_bytes:
            self.file.write(data)  # stays in memory: no I/O
        else:
            await anyio.to_thread.run_sync(self.file.write, data)
        self.size += len(data)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        """The body from its first byte; each iteration starts again."""
        self.file.seek(0)
        if self.size <= self.memory_bytes:  # never went to disk
            yield self.file.read()
            return
        while chunk := await anyio.to_thread.run_sync(self.file.read, CHUNK_BYTES):
            yield chunk

    def close(self) -> None:
        self.file.close()
