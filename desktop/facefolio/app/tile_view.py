"""`TileGridView`: the QListView every face, person and photo grid uses."""
from __future__ import annotations

from PySide6.QtCore import QItemSelection, QModelIndex, QPoint, QSize, Qt, Signal
from PySide6.QtGui import QDrag, QDragEnterEvent, QDragMoveEvent, QDropEvent, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView

from .delegates import FaceTileDelegate
from .roles import PERSON_MIME, FaceIdRole


class TileGridView(QListView):
    """IconMode + uniformItemSizes + a fixed-size delegate: cheap layout for huge lists."""

    contextRequested = Signal(QModelIndex, QPoint)  # the item under the mouse, global pos
    # The selection changed, by the user or because the rows were reloaded: what buttons
    # that act on the selection follow (a reset clears a selection without saying so).
    selectionUpdated = Signal()
    key_role = FaceIdRole  # what a tile stands for across reloads (PersonIdRole for people)

    def __init__(self, picture: int = 128, round_picture: bool = True, parent=None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setUniformItemSizes(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setWrapping(True)
        self.setSpacing(4)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setMouseTracking(True)
        self.delegate = FaceTileDelegate(picture, round_picture, self)
        self.setItemDelegate(self.delegate)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._context)

    def setModel(self, model) -> None:
        super().setModel(model)
        self._kept: list = []
        self.selectionModel().selectionChanged.connect(lambda *_: self.selectionUpdated.emit())
        model.modelAboutToBeReset.connect(self._remember_selection)
        model.modelReset.connect(self._restore_selection)
        model.rowsRemoved.connect(lambda *_: self.selectionUpdated.emit())
        model.layoutChanged.connect(lambda *_: self.selectionUpdated.emit())

    def _remember_selection(self) -> None:
        current = self.currentIndex()
        # Tiles with no key (a photo grid has no face id) cannot be found again: dropped.
        self._kept = [k for k in (i.data(self.key_role) for i in self.selected_rows())
                      if k is not None]
        self._kept_current = current.data(self.key_role) if current.isValid() else None

    def _restore_selection(self) -> None:
        """Select again the tiles that stand for what was selected before the reload."""
        wanted = set(self._kept)
        model, selection = self.model(), self.selectionModel()
        chosen = QItemSelection()
        if wanted:
            for row in range(model.rowCount()):
                index = model.index(row, 0)
                key = index.data(self.key_role)
                if key in wanted:
                    chosen.select(index, index)
                if key is not None and key == self._kept_current:
                    selection.setCurrentIndex(index, selection.SelectionFlag.NoUpdate)
        # Exactly what was found again: nothing left selected that stands for something else.
        selection.select(chosen, selection.SelectionFlag.ClearAndSelect)
        self._kept = []
        self.selectionUpdated.emit()

    def sizeHint(self) -> QSize:
        return QSize(640, 480)

    def _context(self, pos: QPoint) -> None:
        index = self.indexAt(pos)
        if index.isValid() and not self.selectionModel().isSelected(index):
            self.setCurrentIndex(index)
        self.contextRequested.emit(index, self.viewport().mapToGlobal(pos))

    def selected_rows(self) -> list[QModelIndex]:
        return sorted(self.selectionModel().selectedIndexes(), key=lambda i: i.row())

    def enable_person_drops(self) -> None:
        """Drag people onto a person to merge them (the model turns drops into a request)."""
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)  # setMovement(Static) turned it off
        self.setDropIndicatorShown(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self._person_drops = True

    # IconMode treats a drag inside the view as "move the icon around" and never asks the
    # model; a drop of people onto a person must reach the model's dropMimeData instead.
    _person_drops = False
    drop_row = -1

    def _drop_target(self, event: QDragMoveEvent | QDropEvent) -> QModelIndex | None:
        if not self._person_drops or not event.mimeData().hasFormat(PERSON_MIME):
            return None
        index = self.indexAt(event.position().toPoint())
        return index if index.isValid() else None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._person_drops and event.mimeData().hasFormat(PERSON_MIME):
            event.accept()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if not self._person_drops:
            super().dragMoveEvent(event)
            return
        target = self._drop_target(event)
        if target is not None and not self.selectionModel().isSelected(target):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            target = None
            event.ignore()
        self._set_drop_row(target.row() if target is not None else -1)

    def startDrag(self, actions: Qt.DropAction) -> None:
        if not self._person_drops:
            super().startDrag(actions)
            return
        # Our own QDrag: IconMode's would paint the dragged tiles over the drop target.
        indexes = self.selectedIndexes()
        if not indexes:
            return
        drag = QDrag(self)
        drag.setMimeData(self.model().mimeData(indexes))
        pixmap = self.currentIndex().data(Qt.ItemDataRole.DecorationRole)
        if isinstance(pixmap, QPixmap) and pixmap.width() > 1:
            drag.setPixmap(pixmap.scaled(64, 64, Qt.AspectRatioMode.KeepAspectRatio,
                                         Qt.TransformationMode.SmoothTransformation))
            drag.setHotSpot(QPoint(32, 32))
        drag.exec(Qt.DropAction.CopyAction)

    def _set_drop_row(self, row: int) -> None:
        """The tile a drop would merge into; the delegate rings it."""
        if row != self.drop_row:
            self.drop_row = row
            self.viewport().update()

    def dragLeaveEvent(self, event) -> None:
        self._set_drop_row(-1)
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        if not self._person_drops:
            super().dropEvent(event)
            return
        target = self._drop_target(event)
        self._set_drop_row(-1)
        if target is None:
            event.ignore()
            return
        self.model().dropMimeData(event.mimeData(), Qt.DropAction.CopyAction, -1, -1, target)
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
