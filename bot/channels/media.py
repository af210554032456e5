"""Files that cross from one platform to another (a WhatsApp parent's photo into the Telegram
staff group, a worker's Telegram document to a WhatsApp parent).

Within Telegram a file is copied by reference; across platforms there is no such thing, so the
sending channel asks the channel where the file lives for its bytes and uploads them.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.conversation.messages import MediaRef

DEFAULT_NAMES = {
    "photo": "photo.jpg",
    "voice": "voice.ogg",
    "audio": "audio.mp3",
    "video": "video.mp4",
}
DEFAULT_TYPES = {
    "photo": "image/jpeg",
    "voice": "audio/ogg",
    "audio": "audio/mpeg",
    "video": "video/mp4",
}


@dataclass(frozen=True)
class MediaFile:
    content: bytes
    mime_type: str
    file_name: str


# channel name -> how to download one of its files
FileFetcher = Callable[[MediaRef], Awaitable[MediaFile]]


def describe(media: MediaRef, content: bytes, path: str | None = None) -> MediaFile:
    """A file's bytes with a usable MIME type and name, whatever the platform told us."""
    name = media.file_name or (path.rsplit("/", 1)[-1] if path else None)
    name = name or DEFAULT_NAMES.get(media.kind, "file")
    mime = (
        media.mime_type
        or mimetypes.guess_type(name)[0]
        or DEFAULT_TYPES.get(media.kind, "application/octet-stream")
    )
    return MediaFile(content, mime.split(";")[0].strip(), name)
