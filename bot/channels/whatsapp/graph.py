"""A small typed client for the parts of Meta's Graph API the bot uses: send a message, upload a
file, download a file. Errors are sorted into "try again later" and "never going to work", which
is all the outbox needs to know."""

from __future__ import annotations

from typing import Any

import httpx

from bot.channels.media import MediaFile
from bot.replicas.leaving import leaving

# Graph error codes that mean "not now" rather than "never": throttling, Meta's own trouble,
# and 190 (an expired or revoked token: the operator fixes it and the messages still go out).
RETRYABLE_CODES = {1, 2, 4, 17, 190, 341, 80007, 130429, 131000, 131016, 131056, 133004, 133005}
RE_ENGAGEMENT = 131047  # more than 24 hours since the parent's last message


class GraphError(Exception):
    def __init__(self, status: int, code: int | None, message: str) -> None:
        super().__init__(f"HTTP {status}, code {code}: {message}")
        self.status = status
        self.code = code

    @property
    def retryable(self) -> bool:
        """429/5xx, Meta's transient codes, and 401/403 (a token problem, like code 190)."""
        return self.status >= 500 or self.status in (401, 403, 429) or self.code in RETRYABLE_CODES


class GraphClient:
    def __init__(self, base_url: str, token: str, phone_number_id: str, timeout: float = 15.0):
        self.phone_number_id = phone_number_id
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, message: dict[str, Any]) -> str:
        """Send one message; returns its WhatsApp message id."""
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", **message}
        data = await self._call("POST", f"{self.phone_number_id}/messages", json=body)
        return str(data.get("messages", [{}])[0].get("id", ""))

    async def upload(self, file: MediaFile) -> str:
        """Upload a file for sending; returns the media id (valid for 30 days)."""
        data = await self._call(
            "POST",
            f"{self.phone_number_id}/media",
            data={"messaging_product": "whatsapp", "type": file.mime_type},
            files={"file": (file.file_name, file.content, file.mime_type)},
        )
        return str(data["id"])

    async def download(self, media_id: str) -> tuple[bytes, str]:
        """A parent's file: first its short-lived URL, then the bytes (same token)."""
        info = await self._call("GET", media_id)
        response = await self._http.get(str(info["url"]))
        if response.status_code != 200:
            raise _error(response)
        mime = str(info.get("mime_type") or response.headers.get("content-type", ""))
        return response.content, mime

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        leaving()  # the outbox marks its row as maybe sent now (bot.replicas.leaving)
        response = await self._http.request(method, path, **kwargs)
        if response.status_code != 200:
            raise _error(response)
        data = response.json()
        return data if isinstance(data, dict) else {}


def _error(response: httpx.Response) -> GraphError:
    try:
        error = response.json().get("error", {})
    except ValueError:
        error = {}
    code = error.get("code") if isinstance(error, dict) else None
    message = str(error.get("message", "")) if isinstance(error, dict) else ""
    return GraphError(response.status_code, code if isinstance(code, int) else None, message)
