"""Unread marks: the last message of each handoff a worker has seen in the desk."""

from __future__ import annotations

from bot.conversation.state import StateStore


class ReadMarks:
    def __init__(self, state: StateStore) -> None:
        self._db, self._lock = state.connection

    def seen(self, worker: str, handoff_id: int, message_id: int) -> None:
        if message_id <= 0:
            return
        with self._lock:
            self._db.execute(
                "INSERT INTO desk_reads (worker, handoff_id, message_id) VALUES (?, ?, ?) "
                "ON CONFLICT (worker, handoff_id) DO UPDATE SET message_id = excluded.message_id "
                "WHERE excluded.message_id > desk_reads.message_id",
                (worker, handoff_id, message_id),
            )

    def marks(self, worker: str, handoff_ids: list[int]) -> dict[int, int]:
        if not handoff_ids:
            return {}
        marks = ", ".join("?" * len(handoff_ids))
        with self._lock:
            rows = self._db.execute(
                "SELECT handoff_id, message_id FROM desk_reads WHERE worker = ? "
                f"AND handoff_id IN ({marks})",
                [worker, *handoff_ids],
            ).fetchall()
        return {int(r[0]): int(r[1]) for r in rows}
