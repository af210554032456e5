"""Several ``wegwijs serve`` on one database: who does what, and what happens when one dies.

Every replica takes webhooks (a load balancer picks one at random), so the work itself is
shared through the database, never through memory. One mechanism carries it all: a *claim*
(:mod:`bot.replicas.claims`), a row that says "replica R does X until T", renewed by R's
heartbeat while R lives and free for anyone once T has passed.

- A parent's messages (``inbox``) are handled under the claim ``inbox:<chat>``: one replica
  at a time handles a chat, oldest message first, so replies keep their order; chats run in
  parallel on all replicas. The replies are queued and the message marked handled in one
  transaction that first checks the claim is still ours (a fence), so a replica that lost its
  claim while it waited for Rasa queues nothing (:mod:`bot.router`).
- Telegram updates (``telegram_updates``) are handled under ``telegram:<chat or topic>``, in
  Telegram's own order (update ids), whichever replica the webhook reached
  (:mod:`bot.channels.telegram.inbox`).
- The outbox is sent under ``outbox:<lane>:<key>``, one key (a chat, the staff group) by one
  replica at a time, in order; each row is marked as maybe sent when its request really leaves
  (:mod:`bot.replicas.leaving`) (:mod:`bot.handoff.outbox` explains the window that remains).
- The periodic jobs (re-announce and escalate, quiet alarms, promised follow-ups, check-backs,
  the retention purge) run under ``job:<name>`` on one replica (:mod:`bot.replicas.jobs`).

A replica's identity (``WEGWIJS_REPLICA``, by default host name and data directory, see
:func:`replica_name`) is stable across a restart, so a restarted single replica takes its own
unfinished work back at once instead of waiting for its old claims to expire.
"""

from __future__ import annotations

import fcntl
import os
import socket

DEFAULT_LEASE_SECONDS = 30.0


class ReplicaError(ValueError):
    """A replica setting is wrong (shown to the operator, never a traceback)."""


def lease_seconds() -> float:
    """How long a claim lives without its replica's heartbeat (``WEGWIJS_LEASE_SECONDS``):
    how soon another replica takes over the work of a dead one."""
    raw = os.environ.get("WEGWIJS_LEASE_SECONDS", "").strip()
    if not raw:
        return DEFAULT_LEASE_SECONDS
    try:
        value = float(raw)
    except ValueError:
        raise ReplicaError(
            f"WEGWIJS_LEASE_SECONDS must be a number of seconds, not {raw!r}"
        ) from None
    if not 1.0 <= value <= 3600.0:
        raise ReplicaError("WEGWIJS_LEASE_SECONDS must be between 1 and 3600")
    return value


_names: dict[str, str] = {}  # data directory -> this process's name (one per process)
_locks: list[int] = []  # the lock files' descriptors, open for the life of the process


def replica_name() -> str:
    """This process's name in claims: ``WEGWIJS_REPLICA``, else host name and data directory.

    The data directory is locked (``flock`` on ``replica.lock``) for the life of the process,
    so two live processes never share a name; the kernel drops the lock when a process dies,
    even by SIGKILL, so a restart on the same data directory gets the same name and takes its
    predecessor's unfinished work back at once (:meth:`Claims.forget_previous_life`). A second
    process on a directory that is in use (``wegwijs purge`` next to ``serve``) gets a name of
    its own (with its process id)."""
    given = os.environ.get("WEGWIJS_REPLICA", "").strip()
    if given:
        return given[:200]
    from bot.paths import data_dir

    folder = data_dir()
    if str(folder) in _names:
        return _names[str(folder)]
    name = f"{socket.gethostname()}:{folder}"
    fd = -1
    try:
        fd = os.open(folder / "replica.lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        _locks.append(fd)
    except OSError:
        if fd >= 0:
            os.close(fd)
        name = f"{name}:{os.getpid()}"
    _names[str(folder)] = name[:200]
    return _names[str(folder)]
