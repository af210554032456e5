"""Always answer from the newest *good* social map, without a restart.

``wegwijs map build`` swaps a new database file in atomically, and only when the edit is
valid. This provider notices the swap (the file's inode and mtime change) and reopens; a
broken edit never produces a new file, so the bot keeps answering from the last good map.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from social_map.store import SocialMap


class MapNotBuilt(RuntimeError):
    """There is no map database yet: run `wegwijs map build`."""


class MapProvider:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._map: SocialMap | None = None
        self._stamp: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def current(self) -> SocialMap:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if self._map is not None:
                return self._map  # the file vanished: keep serving the map we have
            raise MapNotBuilt(f"No social map at {self.path}. Run `wegwijs map build`.") from None
        stamp = (st.st_ino, st.st_mtime_ns)
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    # The old map is not closed here: a caller may still hold it. Its
                    # connection closes when the last reference goes.
                    self._map, self._stamp = SocialMap.open(self.path), stamp
        assert self._map is not None
        return self._map

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None
            self._stamp = None
