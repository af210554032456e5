"""The desk's browser tests share this: Debian's chromium driven by Playwright (never a browser
Playwright downloads), signing in, and small real files (a PDF, a PNG) to send around."""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from bot.paths import PROJECT_ROOT

CHROMIUM = os.environ.get("WEGWIJS_CHROMIUM", "/usr/bin/chromium")
# As root, without a sandbox; and nothing that phones home (the network is closed here).
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"
DOCS_IMAGES = PROJECT_ROOT / "docs" / "images"
WAIT = 30_000  # ms: how long to wait for something to appear (a loaded machine), not a timing


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: `make test` installs Debian's chromium "
            "(apt-get install -y chromium chromium-driver)"
        )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def sign_in(page: Page, base: str, login: str, password: str, path: str = "/desk/") -> None:
    # Leave the page first: a desk page whose session just expired sends itself to the sign-in
    # page, and that second sign-in form (a new form cookie) could replace the one filled in.
    await page.goto("about:blank")
    await page.goto(base + path)
    await page.fill("#login", login)
    await page.fill("#password", password)
    await page.click("form[action$='/login'] button")


async def screenshot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """Into var/screenshots; with WEGWIJS_DOCS_SCREENSHOTS=1 (``make docs-screenshots``) also
    into docs/images, where the bridge workers' guide shows them."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=full_page)
    if os.environ.get("WEGWIJS_DOCS_SCREENSHOTS") == "1":
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS_IMAGES / path.name)
    return path


def tiny_pdf(text: str = "Inschrijvingsformulier") -> bytes:
    """A small, valid one-page PDF."""
    stream = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def tiny_png(width: int = 48, height: int = 32) -> bytes:
    """A small, valid PNG (a blue-to-green gradient): a 'photo of a letter'."""
    rows = b"".join(
        b"\x00" + b"".join(bytes((20, 80 + 4 * x % 170, 200 - 5 * y % 150)) for x in range(width))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
