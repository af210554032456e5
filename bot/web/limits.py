"""How much the web server takes in and how long it waits, in one place.

docs/operators.md repeats these numbers for the reverse proxy in front of the bot; the proxy
may be stricter, never looser. Each channel sets the largest body its webhook accepts next to
its webhook path (``MAX_BODY`` in :mod:`bot.channels.whatsapp.channel` and
:mod:`bot.channels.telegram.channel`).
"""

from __future__ import annotations

KB = 1024
MB = 1024 * KB

# A body for any other path (there are none that read one today).
DEFAULT_MAX_BODY = 64 * KB
# All request bodies being read at the same moment, together: a thousand parallel uploads of
# 3 MB each are refused with 503 (and retried by Meta and Telegram) instead of taking 3 GB.
BODY_BUDGET = 16 * MB
# A request line and its headers: h11's own limit, refused with 400 when exceeded.
MAX_HEADER_BYTES = 16 * KB
# Seconds a client may take to send a request's line and headers, counted from the moment the
# connection is waiting for them (opened, or the previous answer sent).
HEADER_TIMEOUT = 10.0
# Seconds a client may take to send a whole body once its headers are in.
BODY_TIMEOUT = 10.0
# The desk's forms carry a worker's file. The desk checks the session before it reads a byte,
# streams the file to disk and drops it past WEGWIJS_DESK_MAX_UPLOAD_MB, reading on so the worker
# gets a page that keeps what they typed. Beyond this hard cap (the larger of 64 MB and four
# times the upload limit) the connection is cut with 413 at once; and a slow school connection
# gets time to send it.
DESK_FORM_MIN_CAP = 64 * MB
DESK_UPLOAD_TIMEOUT = 300.0


def desk_form_cap(max_upload: int) -> int:
    return max(DESK_FORM_MIN_CAP, 4 * max_upload)


# Seconds an idle kept-alive connection stays open.
KEEP_ALIVE = 5.0
# Seconds the server waits at a stop for requests in hand to be answered.
STOP_GRACE = 15.0
