"""Reading a reply form with a file, at bounded memory.

Starlette's form parser keeps any file, whatever its size, in a temporary file before the
handler sees it. Here the multipart stream (python-multipart's parser) is read chunk by chunk:
text fields are small and kept in memory, the file goes straight to disk through
:class:`bot.handoff.files.Upload`, and past the limit it is deleted while the rest of the
request is read and dropped, so that the browser gets a clear answer instead of a broken
connection. A request far beyond the limit is cut off.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from bot.handoff.files import DeskFiles, TooLarge, Upload

MAX_FIELD = 64 * 1024
MAX_FIELDS = 20
READ_AT_MOST = 128 * 1024 * 1024  # past this (or 4 times the limit) a request is cut off


class FormRefused(Exception):
    """Not a form we read: malformed, a forged token, or far too large."""

    def __init__(self, reason: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason  # bad_form, csrf, too_large
        self.fields = fields or {}  # what was read before (the text, to show it again)


@dataclass
class ReplyForm:
    fields: dict[str, str] = field(default_factory=dict)
    upload: Upload | None = None
    file_name: str = ""
    content_type: str = ""
    too_large: bool = False
    file_size: int = 0  # as far as it was read

    def close(self) -> None:
        if self.upload is not None:
            self.upload.abort()


async def read_reply_form(
    request: Request,
    files: DeskFiles,
    csrf_ok: Callable[[str], bool],
    file_field: str = "file",
) -> ReplyForm:
    """Parse the form; the CSRF field must come before the file (it does: it is first in the
    form). Raises :class:`FormRefused`; the caller must :meth:`ReplyForm.close` the result
    unless it committed the upload."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise FormRefused("bad_form")
    hard_cap = max(files.limit * 4, READ_AT_MOST)
    form = ReplyForm()
    part: dict[str, object] = {}
    headers: dict[bytes, bytes] = {}
    header_name = bytearray()
    header_value = bytearray()
    problems: list[str] = []

    def on_part_begin() -> None:
        part.clear()
        headers.clear()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_name.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        headers[bytes(header_name).lower()] = bytes(header_value)
        header_name.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        _, options = parse_options_header(headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        part["name"] = name
        if b"filename" in options:
            file_name = options[b"filename"].decode("utf-8", "replace")
            if name != file_field or form.upload is not None or form.too_large:
                problems.append("bad_form")
                return
            if not file_name:
                part["skip"] = True  # an empty file input
                return
            if not csrf_ok(form.fields.get("csrf", "")):
                problems.append("csrf")
                return
            form.file_name = file_name
            form.content_type = headers.get(b"content-type", b"").decode("latin-1")
            form.upload = files.upload()
            part["file"] = True
        else:
            if len(form.fields) >= MAX_FIELDS:
                problems.append("bad_form")
            part["data"] = bytearray()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if problems or part.get("skip"):
            return
        chunk = data[start:end]
        if part.get("file"):
            form.file_size += len(chunk)
            if form.upload is not None and not form.too_large:
                try:
                    form.upload.write(chunk)
                except TooLarge:
                    form.too_large = True
            return
        buffer = part.get("data")
        if isinstance(buffer, bytearray):
            if len(buffer) + len(chunk) > MAX_FIELD:
                problems.append("bad_form")
                return
            buffer.extend(chunk)

    def on_part_end() -> None:
        buffer = part.get("data")
        if isinstance(buffer, bytearray) and not problems:
            form.fields[str(part.get("name", ""))] = buffer.decode("utf-8", "replace")

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
        },
    )
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > hard_cap:
                raise FormRefused("too_large", dict(form.fields))
            if problems:
                continue  # read and drop the rest: the answer reaches the browser
            try:
                parser.write(chunk)
            except Exception as error:
                raise FormRefused("bad_form") from error
        if problems:
            raise FormRefused(problems[0])
        try:
            parser.finalize()
        except Exception as error:
            raise FormRefused("bad_form") from error
    except BaseException:
        form.close()
        raise
    if form.too_large and form.upload is not None:
        form.upload.abort()
        form.upload = None
    return form


async def drain(request: Request, limit: int) -> bool:
    """Read and drop a request body we refuse (up to ``limit`` bytes), so the browser reads
    our answer. False when it was larger."""
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            return False
    return True
