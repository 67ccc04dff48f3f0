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
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..engine import PACKS
from ..library import Settings


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, library_path: Path, parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.original = settings
        self.pack = QComboBox()
        for name in PACKS:
            self.pack.addItem(name, name)
        self.pack.setCurrentIndex(max(0, self.pack.findData(settings.pack)))
        self.pack_info = QLabel(wordWrap=True)
        self.pack_info.setMinimumWidth(380)
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
        form.addRow("Face model:", self.pack)
        form.addRow("", self.pack_info)
        form.addRow("Detection threshold:", self.threshold)
        form.addRow("Smallest face:", self.min_face)
        form.addRow("Faces to make a person:", self.min_cluster)
        form.addRow("Face names:", self.write_xmp)
        form.addRow("Library location:", where)
        note = QLabel("Model and detection changes apply to photos scanned from now on; "
                      "rescan to apply them to every photo.", wordWrap=True)
        note.setStyleSheet("color: palette(mid);")
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
        where = ""
        if "non-commercial" in licence:
            licence = f"<b style='color:#c0392b'>Licence: {licence}.</b>"
            # A folder check, not a download: insightface fetches packs only when asked.
            from ..engine.insightface_pack import is_installed, pack_dir  # noqa: PLC0415
            if not is_installed(info.name):
                where = (f"<br><i>Not installed: put the pack's .onnx files in "
                         f"{pack_dir(info.name)}</i>")
        else:
            licence = f"Licence: {licence}."
        self.pack_info.setText(f"{info.description}<br>{licence}{where}")

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
