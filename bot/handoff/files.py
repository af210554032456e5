"""Files a bridge worker uploads in the desk (a filled-in form, a photo of a flyer), on their
way to a parent.

Telegram and WhatsApp files stay on their platform; a desk upload has no platform, so it is
kept on disk under the data directory, one file per upload with a random name, and its row in
``desk_files`` ties it to its handoff. It is erased with that handoff: by ``/forget`` and by
the retention purge (:mod:`bot.retention`). The channels fetch it like a file from another
platform: a :class:`MediaRef` with channel ``desk`` (see :mod:`bot.channels.media`).
"""

from __future__ import annotations

import contextlib
import logging
import mimetypes
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.channels.media import MediaFile
from bot.conversation.messages import MediaRef
from bot.conversation.state import StateStore, utc_iso

log = logging.getLogger(__name__)
CHANNEL = "desk"
DEFAULT_LIMIT = 16 * 1024 * 1024  # bytes; WhatsApp takes 16 MB audio and 100 MB documents
CHUNK = 64 * 1024
PHOTO_TYPES = ("image/jpeg", "image/png")


class TooLarge(Exception):
    """The upload is larger than the limit: nothing of it was kept."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit} bytes")
        self.limit = limit


@dataclass(frozen=True)
class StoredFile:
    id: str
    handoff_id: int
    name: str
    mime_type: str
    size: int

    @property
    def kind(self) -> str:
        """photo for pictures a parent's app shows as pictures, else document."""
        return "photo" if self.mime_type in PHOTO_TYPES else "document"

    def ref(self) -> MediaRef:
        return MediaRef(CHANNEL, self.kind, self.id, None, None, self.name, self.mime_type)


def clean_name(name: str) -> str:
    """The file's own name without any folder, control characters or a leading dot."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if c.isprintable() and c not in '<>:"|?*').strip(" .")
    return base[:120] or "bestand"


def guess_type(name: str, given: str | None) -> str:
    """The type by the file's extension (what the browser claims is only a fallback)."""
    return (
        mimetypes.guess_type(name)[0]
        or (given or "").split(";")[0].strip()
        or "application/octet-stream"
    )


class DeskFiles:
    def __init__(self, state: StateStore, directory: Path | None, limit: int = DEFAULT_LIMIT):
        self._db, self._lock = state.connection
        self.directory = Path(directory) if directory is not None else None
        self.limit = limit
        self._writing: set[str] = set()  # uploads in progress: not orphans

    @property
    def enabled(self) -> bool:
        return self.directory is not None

    def _path(self, file_id: str) -> Path:
        assert self.directory is not None
        if not file_id.isalnum():  # ids are ours (hex); never a path from outside
            raise FileNotFoundError(file_id)
        return self.directory / file_id

    def upload(self) -> Upload:
        """A new upload, written to disk as it arrives; :meth:`Upload.commit` keeps it."""
        if self.directory is None:
            raise RuntimeError("uploads need a data directory")
        self.directory.mkdir(parents=True, exist_ok=True)
        return Upload(self, secrets.token_hex(16))

    async def save(
        self,
        handoff_id: int,
        name: str,
        mime_type: str | None,
        chunks: AsyncIterator[bytes],
        now: datetime,
    ) -> StoredFile:
        """Store an upload that arrives in chunks (bounded memory; refused past the limit)."""
        upload = self.upload()
        try:
            async for chunk in chunks:
                upload.write(chunk)
            return upload.commit(handoff_id, name, mime_type, now)
        finally:
            upload.abort()

    def _register(
        self,
        file_id: str,
        handoff_id: int,
        name: str,
        mime_type: str | None,
        size: int,
        now: datetime,
    ) -> StoredFile:
        clean = clean_name(name)
        stored = StoredFile(file_id, handoff_id, clean, guess_type(clean, mime_type), size)
        with self._lock:
            self._db.execute(
                "INSERT INTO desk_files (id, handoff_id, name, mime_type, size, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (file_id, handoff_id, stored.name, stored.mime_type, size, utc_iso(now)),
            )
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, handoff_id, name, mime_type, size FROM desk_files WHERE id = ?",
                (file_id,),
            ).fetchone()
        return StoredFile(*row) if row else None

    def read(self, file_id: str) -> bytes:
        return self._path(file_id).read_bytes()

    async def fetch(self, media: MediaRef) -> MediaFile:
        """For the channels: a worker's upload, on its way to a parent or the staff group."""
        from bot.handoff.outbox import Undeliverable

        stored = self.get(media.file_id) if self.directory is not None else None
        if stored is None:
            raise Undeliverable("the desk file is gone (erased with its handoff)")
        try:
            content = self.read(stored.id)
        except FileNotFoundError as error:
            raise Undeliverable("the desk file is gone from disk") from error
        return MediaFile(content, stored.mime_type, stored.name)

    def delete_for(self, handoff_ids: list[int]) -> int:
        """Remove the files of these handoffs from disk (their rows go with the handoff)."""
        if not handoff_ids or self.directory is None:
            return 0
        marks = ", ".join("?" * len(handoff_ids))
        with self._lock:
            rows = self._db.execute(
                f"SELECT id FROM desk_files WHERE handoff_id IN ({marks})", handoff_ids
            ).fetchall()
        for (file_id,) in rows:
            with contextlib.suppress(FileNotFoundError):
                self._path(file_id).unlink()
        return len(rows)

    def delete_for_chat(self, chat_key: str) -> int:
        with self._lock:
            ids = [
                int(r[0])
                for r in self._db.execute(
                    "SELECT id FROM handoffs WHERE chat_key = ?", (chat_key,)
                ).fetchall()
            ]
        return self.delete_for(ids)

    def sweep(self) -> int:
        """Files on disk that no row refers to (an upload cut off by a crash, a handoff erased
        while its file was being removed) and that are not being written now: removed."""
        if self.directory is None or not self.directory.is_dir():
            return 0
        on_disk = list(self.directory.iterdir())  # first: a file listed here that is being
        writing = set(self._writing)  # written is in this set, or (finished) in the table
        with self._lock:
            known = {r[0] for r in self._db.execute("SELECT id FROM desk_files").fetchall()}
        removed = 0
        for path in on_disk:
            if path.name in known or path.name in writing:
                continue
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
        if removed:
            log.info("desk files: removed %d file(s) no handoff refers to", removed)
        return removed


class Upload:
    """One file being received: bytes go straight to disk, and past the limit the file is
    deleted and :class:`TooLarge` raised (the caller may go on reading the request to answer
    it properly; :meth:`write` then discards). The row is written only at :meth:`commit`: a
    crash leaves at most a file no row refers to, which :meth:`DeskFiles.sweep` removes."""

    def __init__(self, files: DeskFiles, file_id: str) -> None:
        self.files = files
        self.id = file_id
        self.size = 0
        self.too_large = False
        self._path = files._path(file_id)
        files._writing.add(file_id)
        self._out = open(self._path, "wb")  # noqa: SIM115 - closed in commit/abort
        os.chmod(self._path, 0o600)
        self._done = False

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.too_large:
            return
        if self.size > self.files.limit:
            self.too_large = True
            self._discard()
            raise TooLarge(self.files.limit)
        self._out.write(chunk)

    def _discard(self) -> None:
        self._out.close()
        self._path.unlink(missing_ok=True)

    def commit(
        self, handoff_id: int, name: str, mime_type: str | None, now: datetime
    ) -> StoredFile:
        if self.too_large:
            raise TooLarge(self.files.limit)
        self._out.close()
        try:
            stored = self.files._register(self.id, handoff_id, name, mime_type, self.size, now)
        except BaseException:
            self._discard()
            raise
        finally:
            self.files._writing.discard(self.id)
        self._done = True
        return stored

    def abort(self) -> None:
        """Forget this upload unless it was committed (safe to call twice)."""
        if not self._done:
            self._done = True
            self._discard()
            self.files._writing.discard(self.id)
