"""Settings: model pack (licence shown, where uninstalled packs go), detection threshold,
minimum face, what makes a person, scan workers, XMP sidecars, library location; and the
question asked before settings that re-analyse photos are saved."""
from __future__ import annotations

import os
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
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..engine import PACKS
from ..library import Settings
from ..library.scan.reanalysis import ReanalysisImpact
from .words import plural


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
        self.min_cluster = QSpinBox(minimum=2, maximum=50, value=settings.min_cluster_faces,
                                    suffix=" faces")
        self.min_cluster.setToolTip("A group of unknown faces becomes a person with this many")
        # What grouping really does (regroup.py: two clear, very alike faces in two photos
        # make a person while this is 3 or less), so People's pairs are no surprise.
        self.min_cluster_rule = QLabel(wordWrap=True)
        self.min_cluster_rule.setStyleSheet("color: palette(placeholder-text);")
        self.min_cluster.valueChanged.connect(self._say_cluster_rule)
        self._say_cluster_rule(self.min_cluster.value())
        self.workers = QSpinBox(minimum=0, maximum=max(1, os.cpu_count() or 1),
                                value=settings.scan_workers)
        self.workers.setSpecialValueText("Automatic")
        self.workers.setToolTip("Photos analysed at once; Automatic uses the cores this "
                                "computer lets Facefolio use")
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
        form.addRow("A new person needs:", self.min_cluster)
        form.addRow("", self.min_cluster_rule)
        form.addRow("Scan workers:", self.workers)
        form.addRow("Face names:", self.write_xmp)
        self.age_gender = QCheckBox("Estimate age and gender (\u201cabout 30\u201d)")
        self.age_gender.setChecked(settings.age_gender)
        self.age_gender.setToolTip("Off: none are made, shown, exported or searched. A date "
                                   "of birth you give still shows a person's age in dated "
                                   "photos.")
        form.addRow("Ages:", self.age_gender)
        form.addRow("Library location:", where)
        note = QLabel("Model and detection changes take effect at the next scan, for every "
                      "photo; a higher threshold or a larger smallest face only removes the "
                      "faces under it, without reading the photos again.", wordWrap=True)
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
        missing = [n for n in PACKS if n not in self.installed and n != info.name]
        if missing:
            # Greyed out in the list: say here where their files would go (a disabled
            # item shows no tooltip on every platform).
            folder = str(Path(_pack_dir(missing[0])).parent)
            where += (f"<br><small>Greyed out, not on this computer: {', '.join(missing)}. "
                      f"To use one, put its .onnx files in {folder}/&lt;pack name&gt; "
                      "(Facefolio never downloads a model).</small>")
        self.pack_info.setText(f"{info.description}<br>{licence}{where}")
        self.adjustSize()  # the label may have grown a line: show all of it now

    def _say_cluster_rule(self, n: int) -> None:
        self.min_cluster_rule.setText(
            f"{n} faces in different photos, or just 2 when they are clear and very alike."
            if n <= 3 else f"{n} faces in different photos.")

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Library location", self.location.text())
        if path:
            self.location.setText(path)

    def settings(self) -> Settings:
        return replace(self.original, pack=self.pack.currentData(),
                       det_threshold=round(self.threshold.value(), 3),
                       min_face=self.min_face.value(),
                       min_cluster_faces=self.min_cluster.value(),
                       scan_workers=self.workers.value(),
                       write_xmp=self.write_xmp.isChecked(),
                       age_gender=self.age_gender.isChecked())

    def library_path(self) -> Path:
        return Path(self.location.text().strip()).expanduser()


def reanalysis_text(impact: ReanalysisImpact, old: Settings, new: Settings) -> tuple[str, str]:
    """(question, details) before saving settings that make the next scan analyse again."""
    what = []
    if new.pack != old.pack:
        what.append(f"the face model {new.pack}")
    if new.det_threshold != old.det_threshold:
        what.append(f"a detection threshold of {new.det_threshold:.2f}")
    if new.min_face != old.min_face:
        what.append(f"a smallest face of {new.min_face} px")
    setting = ' and '.join(what) or 'these settings'
    if impact.reread:
        question = (f"With {setting}, the next scan looks for faces again in "
                    f"{plural(impact.reread, 'photo')}.")
    elif impact.narrowed_faces:  # a stricter setting of the same pack (narrow.py)
        question = (f"With {setting}, the next scan removes "
                    f"{plural(impact.narrowed_faces, 'face')} under it from "
                    f"{plural(impact.narrowed_photos, 'photo')}, without reading any photo "
                    "again.")
    else:
        question = (f"With {setting}, no face found so far is under it that nobody decided "
                    "about: the next scan removes nothing and reads no photo again.")
    if not impact.faces:
        return question, "No face of a named person should be lost."
    whose = ", ".join(f"{p.name} ({p.faces})" for p in impact.people[:8])
    if len(impact.people) > 8:
        whose += f" and {plural(len(impact.people) - 8, 'other person')}"
    one = impact.faces == 1
    if impact.new_pack:
        may = "is looked for again" if one else "are looked for again"
    elif impact.reread:
        may = "may not be found again"
    else:  # narrowing: exactly these are under the new setting
        may = "is under it" if one else "are under it"
    lines = [f"{plural(impact.faces, 'face')} of named people {may}: {whose}."]
    kept = impact.confirmed
    if kept:
        lines.append(f"{plural(kept, 'face')} of them you named or confirmed yourself: "
                     f"{'it stays' if kept == 1 else 'they stay'} with their person even if "
                     "the new setting does not find them, unless you let it drop them.")
    rest = impact.faces - kept
    if rest:
        goes = ("leaves its person" if rest == 1 else "leave their person") + (
            " if not found" if impact.reread or impact.new_pack else "")
        other = "The other one" if rest == 1 else f"The other {rest} faces"
        lines.append(f"{other}, placed by grouping, {goes}."
                     if kept else f"Placed by grouping, {'it' if rest == 1 else 'they'} {goes}.")
    lines.append("Faces you marked \u201cNot a face\u201d stay marked.")
    return question, " ".join(lines)


def ask_reanalysis(parent: QWidget, impact: ReanalysisImpact, old: Settings, new: Settings
                   ) -> str | None:
    """'keep' (confirmed faces stay), 'drop' (the user lets the setting drop them), or None
    (cancel: the settings are not saved)."""
    question, details = reanalysis_text(impact, old, new)
    title = "Analyse photos again?" if impact.reread else "Remove faces under the new setting?"
    box = QMessageBox(QMessageBox.Icon.Question, title, question,
                      QMessageBox.StandardButton.Cancel, parent)
    box.setInformativeText(details)
    keep = box.addButton("Keep my confirmed faces" if impact.confirmed else "Save",
                         QMessageBox.ButtonRole.AcceptRole)
    drop = box.addButton("Let it drop them", QMessageBox.ButtonRole.DestructiveRole) \
        if impact.confirmed else None
    box.setDefaultButton(keep)
    box.exec()
    clicked = box.clickedButton()
    if clicked is keep:
        return "keep"
    if drop is not None and clicked is drop:
        return "drop"
    return None
