"""Who may use the desk: passwords, sessions, throttled sign-ins and the audit log.

- Passwords are argon2id hashes (argon2-cffi), set with ``wegwijs desk passwd NAME`` and kept
  in the state database, never in the repository or the workers file.
- A session is a random token. The browser holds it in a signed, HttpOnly, SameSite cookie;
  the database holds only its SHA-256, so a copy of the database opens no session. Sessions
  end after a while without use and after a fixed maximum, whichever comes first, and at once
  when a worker is set inactive or their password is removed (every request checks).
- Failed sign-ins are counted per login name and per address; too many in a quarter of an
  hour and sign-in is refused for a while, even with the right password.
- The audit log says who signed in and who looked at which handoff, when; never what it says.

Each store is a few portable SQL statements on the shared state connection, and every time
comes from the caller (the bot's one clock).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, Signer

from bot.conversation.state import StateStore, utc_iso

COOKIE = "wegwijs_desk"
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_LOGIN = 5
MAX_FAILURES_PER_ADDRESS = 20
MIN_PASSWORD = 10


class DeskConfigError(ValueError):
    """A WEGWIJS_DESK_* setting cannot be used."""


def _int_env(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise DeskConfigError(f"{name} must be a whole number, at least {minimum} (got {raw!r})")
    return value


@dataclass(frozen=True)
class DeskSettings:
    idle: timedelta = timedelta(minutes=120)  # a session unused this long has ended
    lifetime: timedelta = timedelta(hours=12)  # and every session ends after this
    secure_cookie: bool | None = None  # None: Secure when the request came over https
    max_upload: int = 16 * 1024 * 1024
    poll_seconds: float = 5.0
    secret: str | None = None  # WEGWIJS_DESK_SECRET; else one kept in the database

    def __repr__(self) -> str:  # never print the secret
        return f"DeskSettings(idle={self.idle}, lifetime={self.lifetime})"

    @classmethod
    def from_env(cls) -> DeskSettings:
        secure = os.environ.get("WEGWIJS_DESK_SECURE_COOKIE", "").strip().lower()
        if secure not in ("", "auto", "1", "true", "yes", "0", "false", "no"):
            raise DeskConfigError("WEGWIJS_DESK_SECURE_COOKIE must be auto, true or false")
        return cls(
            idle=timedelta(minutes=_int_env("WEGWIJS_DESK_IDLE_MINUTES", 120, 5)),
            lifetime=timedelta(hours=_int_env("WEGWIJS_DESK_SESSION_HOURS", 12, 1)),
            secure_cookie=None if secure in ("", "auto") else secure in ("1", "true", "yes"),
            max_upload=_int_env("WEGWIJS_DESK_MAX_UPLOAD_MB", 16, 1) * 1024 * 1024,
            poll_seconds=float(_int_env("WEGWIJS_DESK_POLL_SECONDS", 5, 1)),
            secret=os.environ.get("WEGWIJS_DESK_SECRET", "").strip() or None,
        )


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Passwords:
    """argon2id hashes per worker key."""

    def __init__(self, state: StateStore, hasher: PasswordHasher | None = None) -> None:
        self._db, self._lock = state.connection
        self.hasher = hasher or PasswordHasher()
        # Verified against when the login is unknown, so that a wrong name takes as long as a
        # wrong password (no telling which names exist).
        self._dummy = self.hasher.hash(secrets.token_urlsafe(16))

    def set(self, worker: str, password: str, now: datetime) -> None:
        digest = self.hasher.hash(password)
        with self._lock:
            self._db.execute(
                "INSERT INTO desk_passwords (worker, hash, set_at) VALUES (?, ?, ?) "
                "ON CONFLICT (worker) DO UPDATE SET hash = excluded.hash, set_at = excluded.set_at",
                (worker, digest, utc_iso(now)),
            )

    def remove(self, worker: str) -> bool:
        with self._lock:
            return (
                self._db.execute("DELETE FROM desk_passwords WHERE worker = ?", (worker,)).rowcount
                == 1
            )

    def has(self, worker: str) -> bool:
        return self._hash(worker) is not None

    def workers(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT worker FROM desk_passwords ORDER BY 1")]

    def _hash(self, worker: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT hash FROM desk_passwords WHERE worker = ?", (worker,)
            ).fetchone()
        return str(row[0]) if row else None

    def check(self, worker: str, password: str, now: datetime) -> bool:
        """Slow on purpose (argon2): call it in a worker thread."""
        digest = self._hash(worker)
        try:
            self.hasher.verify(digest or self._dummy, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        if digest is None:
            return False
        if self.hasher.check_needs_rehash(digest):
            self.set(worker, password, now)
        return True


@dataclass(frozen=True)
class Session:
    token_hash: str
    worker: str
    csrf: str
    created_at: datetime
    seen_at: datetime


class Sessions:
    def __init__(self, state: StateStore, secret: str | None) -> None:
        self._db, self._lock = state.connection
        self.signer = Signer(secret or self._stored_secret(), salt="wegwijs-desk-session")

    def _stored_secret(self) -> str:
        """One signing key for every process on this database, made once."""
        with self._lock:
            self._db.execute(
                "INSERT INTO desk_settings (name, value) VALUES ('cookie_secret', ?) "
                "ON CONFLICT (name) DO NOTHING",
                (secrets.token_urlsafe(32),),
            )
            row = self._db.execute(
                "SELECT value FROM desk_settings WHERE name = 'cookie_secret'"
            ).fetchone()
        return str(row[0])

    def create(self, worker: str, now: datetime) -> tuple[str, Session]:
        """A new session: returns the cookie value and the session."""
        token = secrets.token_urlsafe(32)
        session = Session(_sha(token), worker, secrets.token_urlsafe(32), now, now)
        with self._lock:
            self._db.execute(
                "INSERT INTO desk_sessions (token_hash, worker, csrf, created_at, seen_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (session.token_hash, worker, session.csrf, utc_iso(now), utc_iso(now)),
            )
        return self.signer.sign(token).decode(), session

    def unsign(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            return self.signer.unsign(cookie).decode()
        except (BadSignature, UnicodeDecodeError):
            return None

    def get(self, cookie: str | None) -> Session | None:
        token = self.unsign(cookie)
        if token is None:
            return None
        with self._lock:
            row = self._db.execute(
                "SELECT token_hash, worker, csrf, created_at, seen_at FROM desk_sessions "
                "WHERE token_hash = ?",
                (_sha(token),),
            ).fetchone()
        if row is None:
            return None
        return Session(
            row[0], row[1], row[2], datetime.fromisoformat(row[3]), datetime.fromisoformat(row[4])
        )

    def touch(self, session: Session, now: datetime) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE desk_sessions SET seen_at = ? WHERE token_hash = ?",
                (utc_iso(now), session.token_hash),
            )

    def end(self, session: Session) -> None:
        with self._lock:
            self._db.execute(
                "DELETE FROM desk_sessions WHERE token_hash = ?", (session.token_hash,)
            )

    def end_all(self, worker: str) -> int:
        with self._lock:
            return self._db.execute(
                "DELETE FROM desk_sessions WHERE worker = ?", (worker,)
            ).rowcount


def purge_sessions(state: StateStore, now: datetime, settings: DeskSettings) -> int:
    """Rows of sessions that have ended (every request checks this itself too)."""
    db, lock = state.connection
    with lock:
        return db.execute(
            "DELETE FROM desk_sessions WHERE seen_at < ? OR created_at < ?",
            (utc_iso(now - settings.idle), utc_iso(now - settings.lifetime)),
        ).rowcount


def expired(session: Session, now: datetime, settings: DeskSettings) -> bool:
    return now - session.seen_at > settings.idle or now - session.created_at > settings.lifetime


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class Throttle:
    """Failed sign-ins per login name and per address, over the last quarter of an hour."""

    def __init__(self, state: StateStore) -> None:
        self._db, self._lock = state.connection

    def wait(self, login: str, address: str, now: datetime) -> timedelta | None:
        """How long sign-in stays refused for this name or address (None: go ahead)."""
        since = utc_iso(now - THROTTLE_WINDOW)
        waits = []
        for key, limit in (
            (f"login:{login}", MAX_FAILURES_PER_LOGIN),
            (f"ip:{address}", MAX_FAILURES_PER_ADDRESS),
        ):
            with self._lock:
                rows = self._db.execute(
                    "SELECT at FROM desk_login_failures WHERE key = ? AND at >= ? ORDER BY at",
                    (key, since),
                ).fetchall()
            if len(rows) >= limit:
                first = datetime.fromisoformat(rows[len(rows) - limit][0])
                waits.append(first + THROTTLE_WINDOW - now)
        return max(waits) if waits else None

    def failed(self, login: str, address: str, now: datetime) -> None:
        with self._lock:
            self._db.executemany(
                "INSERT INTO desk_login_failures (key, at) VALUES (?, ?)",
                [(f"login:{login}", utc_iso(now)), (f"ip:{address}", utc_iso(now))],
            )

    def succeeded(self, login: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM desk_login_failures WHERE key = ?", (f"login:{login}",))

    def purge(self, now: datetime) -> int:
        with self._lock:
            return self._db.execute(
                "DELETE FROM desk_login_failures WHERE at < ?", (utc_iso(now - THROTTLE_WINDOW),)
            ).rowcount


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    worker: str
    action: str
    handoff_id: int | None
    detail: str | None


class AuditLog:
    """Who signed in and who looked at which handoff. Never the content."""

    def __init__(self, state: StateStore) -> None:
        self._db, self._lock = state.connection

    def add(
        self,
        worker: str,
        action: str,
        now: datetime,
        handoff_id: int | None = None,
        detail: str | None = None,
    ) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO desk_audit (at, worker, action, handoff_id, detail) "
                "VALUES (?, ?, ?, ?, ?)",
                (utc_iso(now), worker[:40], action, handoff_id, detail),
            )

    def entries(
        self,
        *,
        since: datetime | None = None,
        worker: str | None = None,
        handoff_id: int | None = None,
        limit: int = 1000,
    ) -> list[AuditEntry]:
        sql = "SELECT id, at, worker, action, handoff_id, detail FROM desk_audit WHERE 1 = 1"
        params: list[object] = []
        if since is not None:
            sql += " AND at >= ?"
            params.append(utc_iso(since))
        if worker is not None:
            sql += " AND worker = ?"
            params.append(worker)
        if handoff_id is not None:
            sql += " AND handoff_id = ?"
            params.append(handoff_id)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(limit)
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [
            AuditEntry(r[0], datetime.fromisoformat(r[1]), r[2], r[3], r[4], r[5]) for r in rows
        ]

    def purge_before(self, cutoff: datetime) -> int:
        with self._lock:
            return self._db.execute(
                "DELETE FROM desk_audit WHERE at < ?", (utc_iso(cutoff),)
            ).rowcount
