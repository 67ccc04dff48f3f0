"""Settings: model pack (licence shown), detection threshold, minimum face, XMP sidecars,
library location."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..engine import PACKS
from ..library import Settings


def _pack_dir(name: str) -> str:
    from ..engine import pack_dir  # noqa: PLC0415 - a path, no models
    return str(pack_dir(name))


def installed_packs() -> set[str]:
    """Packs whose files are on this computer (a folder check, never a download)."""
    from ..engine import is_installed  # noqa: PLC0415
    return {name for name in PACKS if name == "yunet-sface" or is_installed(name)}


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, library_path: Path, parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.original = settings
        self.pack = QComboBox()
        self.installed = installed_packs()
        model = self.pack.model()
        for row, name in enumerate(PACKS):
            ready = name in self.installed
            self.pack.addItem(name if ready else f"{name} (not installed)", name)
            if not ready:
                # Shown, so the user learns it exists and where it would go, but not
                # choosable: Facefolio never downloads a model.
                item = model.item(row)
                item.setEnabled(False)
                item.setToolTip(f"Not installed: put its .onnx files in {_pack_dir(name)}")
        self.pack.setCurrentIndex(max(0, self.pack.findData(settings.pack)))
        self.pack_info = QLabel(wordWrap=True)
        self.pack_info.setMinimumWidth(380)
        self.pack_info.setSizePolicy(QSizePolicy.Policy.Preferred,
                                     QSizePolicy.Policy.MinimumExpanding)
        self.pack.currentIndexChanged.connect(self._show_pack)
        self.threshold = QDoubleSpinBox(minimum=0.1, maximum=0.99, singleStep=0.05,
                                        decimals=2, value=settings.det_threshold)
        self.threshold.setToolTip("Higher finds fewer, surer faces")
        self.min_face = QSpinBox(minimum=8, maximum=1000, suffix=" px", value=settings.min_face)
        self.min_face.setToolTip("Smaller faces are ignored")
        self.min_cluster = QSpinBox(minimum=2, maximum=50, value=settings.min_cluster_faces)
        self.min_cluster.setToolTip("A group needs this many faces to become a person")
        self.write_xmp = QCheckBox("Keep face names in XMP sidecar files (photo.jpg.xmp)")
        self.write_xmp.setChecked(settings.write_xmp)
        self.write_xmp.setToolTip(
            "After every naming change, the photos' sidecars get the names as face regions "
            "that digiKam, Lightroom and others read. The photos themselves are not changed.")
        self.location = QLineEdit(str(library_path))
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        where = QHBoxLayout()
        where.addWidget(self.location, 1)
        where.addWidget(browse)

        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.addRow("Face model:", self.pack)
        form.addRow("", self.pack_info)
        form.addRow("Detection threshold:", self.threshold)
        form.addRow("Smallest face:", self.min_face)
        form.addRow("Faces to make a person:", self.min_cluster)
        form.addRow("Face names:", self.write_xmp)
        form.addRow("Library location:", where)
        note = QLabel("Model and detection changes apply to photos scanned from now on; "
                      "rescan to apply them to every photo.", wordWrap=True)
        note.setStyleSheet("color: palette(placeholder-text);")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok |
                                   QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self._show_pack()

    def _show_pack(self) -> None:
        info = PACKS[self.pack.currentData()]
        licence = info.licence
        if "non-commercial" in licence:
            licence = f"<b style='color:#c0392b'>Licence: {licence}.</b>"
        else:
            licence = f"Licence: {licence}."
        where = ""
        if info.name not in self.installed:
            # The library uses a pack that is not (or no longer) on this computer.
            where = (f"<br><i>Not installed: put the pack's .onnx files in "
                     f"{_pack_dir(info.name)}, or choose yunet-sface.</i>")
        self.pack_info.setText(f"{info.description}<br>{licence}{where}")
        self.adjustSize()  # the label may have grown a line: show all of it now

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Library location", self.location.text())
        if path:
            self.location.setText(path)

    def settings(self) -> Settings:
        return replace(self.original, pack=self.pack.currentData(),
                       det_threshold=round(self.threshold.value(), 3),
                       min_face=self.min_face.value(),
                       min_cluster_faces=self.min_cluster.value(),
                       write_xmp=self.write_xmp.isChecked())

    def library_path(self) -> Path:
        return Path(self.location.text().strip()).expanduser()
