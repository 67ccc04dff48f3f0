"""Tasks run synchronously (Picard's FakeThreadPool idea: call run() here), then for real."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app_fixtures import no_dangling_pools, photo_folder, scanned_library, scanned_template  # noqa: E402,F401
from facefolio.app.tasks import ScanTask, Task, TaskPools, one_line  # noqa: E402
from facefolio.library import Library, NotFoundError  # noqa: E402


class Recorder:
    def __init__(self, task) -> None:
        self.progress, self.results, self.errors, self.finished = [], [], [], 0
        task.signals.progress.connect(self.progress.append)
        task.signals.result.connect(self.results.append)
        task.signals.error.connect(self.errors.append)
        task.signals.finished.connect(self._finish)

    def _finish(self) -> None:
        self.finished += 1


def test_task_opens_its_own_library_and_reports_the_result(qapp, scanned_library):
    task = Task(scanned_library, lambda library: library.counts()["faces"])
    seen = Recorder(task)
    task.run()  # synchronously, on this thread
    assert seen.results == [17] and seen.finished == 1 and not seen.errors


def test_task_errors_arrive_as_the_exception_and_still_finish(qapp, scanned_library):
    """The GUI gets the exception object (its type says what went wrong), and one line of
    it for the status bar."""
    def fails(library: Library) -> None:
        library.person(999999)
    task = Task(scanned_library, fails)
    seen = Recorder(task)
    task.run()
    assert [type(e) for e in seen.errors] == [NotFoundError] and seen.finished == 1
    assert one_line(seen.errors[0]) == "no person with id 999999"
    assert not seen.results
    assert one_line(ValueError("first\nsecond")) == "first"
    assert one_line(KeyError()) == "KeyError"


def test_scan_task_yields_progress_then_the_last_state(qapp, photo_folder, tmp_path):
    with Library(tmp_path / "lib") as library:
        folder = library.add_folder(photo_folder).id
    task = ScanTask(tmp_path / "lib", [folder])
    seen = Recorder(task)
    task.run()
    phases = [p.phase for p in seen.progress]
    assert phases[0] == "listing" and phases[-1] == "done" and "scanning" in phases
    assert seen.results[0].faces == 17 and seen.finished == 1


def test_pools_run_tasks_on_threads_and_shut_down(qtbot, scanned_library, no_dangling_pools):
    pools = TaskPools()
    tasks = [Task(scanned_library, lambda library, i=i: i) for i in range(6)]
    results = []
    for task in tasks:
        task.signals.result.connect(results.append)
        pools.start(pools.read, task)
    qtbot.waitUntil(lambda: len(results) == 6, timeout=10000)
    qtbot.waitUntil(lambda: pools.running == 0, timeout=10000)
    assert sorted(results) == list(range(6))
    assert pools.shutdown()


def test_nothing_starts_on_pools_that_were_shut_down(qtbot, scanned_library,
                                                     no_dangling_pools):
    """A late request (the last paint of a closing window asks for a thumbnail) must not
    start work on pools that are going away."""
    pools = TaskPools()
    assert pools.shutdown()
    ran = []
    task = Task(scanned_library, lambda library: ran.append(1))
    pools.start(pools.read, task)
    qtbot.wait(200)
    assert not ran and pools.running == 0
