"""The thumbnails on screen, as QPixmaps kept in memory: least recently used first out, capped by
bytes (96 MB by default, thumbnails.ThumbnailProvider). GUI thread only."""
from __future__ import annotations

from collections import OrderedDict

from PySide6.QtGui import QPixmap

Key = tuple[str, int]  # ("face" or "photo", its id)


class PixmapCache:
    """LRU of QPixmaps capped by bytes (GUI thread only)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._items: OrderedDict[Key, QPixmap] = OrderedDict()

    def get(self, key: Key) -> QPixmap | None:
        pixmap = self._items.get(key)
        if pixmap is not None:
            self._items.move_to_end(key)
        return pixmap

    def put(self, key: Key, pixmap: QPixmap) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self.bytes -= _size(old)
        self._items[key] = pixmap
        self.bytes += _size(pixmap)
        while self.bytes > self.max_bytes and len(self._items) > 1:
            _, dropped = self._items.popitem(last=False)
            self.bytes -= _size(dropped)

    def __contains__(self, key: Key) -> bool:
        return key in self._items

    def clear(self) -> None:
        self._items.clear()
        self.bytes = 0


def _size(pixmap: QPixmap) -> int:
    return max(1, pixmap.width() * pixmap.height() * max(1, pixmap.depth() // 8))
