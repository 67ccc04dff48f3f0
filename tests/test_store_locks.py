"""Opening a library never drops the locks of this process's other connections.

SQLite's locks are POSIX locks: closing any descriptor of the database file drops every lock
the process holds on it, its own connections' too. `store.connect` reads the file's header
through a descriptor of its own before SQLite opens it (a damaged or foreign file is refused
untouched); done while another thread's connection was opening, it left that connection
without its locks, and another process (the app's age pass, the command line beside the
window) then took the write-ahead log for abandoned: it checkpointed and deleted it under the
app's writer, whose next statement failed with "disk I/O error" (a scan started in the window
failed so, 1 run in 3-4 of tests/test_app_actions.py with the age pass running)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from facefolio.library.storage import store

_OTHER_PROCESS = """
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], timeout=5)
con.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('other', 'written')")
con.commit()
con.close()  # the last connection of the file, as it believes, checkpoints and deletes the WAL
"""


def test_a_header_read_keeps_the_locks_of_this_process(tmp_path):
    # connect() reads the header only when no connection of this process is open, but another
    # thread may open one meanwhile: whatever the timing, the read must not drop its locks.
    db = tmp_path / "library.sqlite3"
    store.connect(db).close()
    con = store.connect(db)
    con.execute("SELECT count(*) FROM meta").fetchone()  # holds its lock from here
    for _ in range(3):
        assert store.inspect_file(db) is None

    run = subprocess.run([sys.executable, "-c", _OTHER_PROCESS, str(db)], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    # This process still has the database open: the WAL is not the other process's to delete,
    # and the connection reads on, seeing the other process's write.
    assert Path(f"{db}-wal").exists()
    row = con.execute("SELECT value FROM meta WHERE key = 'other'").fetchone()
    assert row is not None and row[0] == "written"
    con.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('mine', 'kept')")
    con.close()
    check = store.connect(db)
    assert check.execute("SELECT value FROM meta WHERE key = 'mine'").fetchone()[0] == "kept"
    check.close()


def test_a_header_read_sees_a_file_replaced_at_the_same_path(tmp_path):
    db = tmp_path / "library.sqlite3"
    store.connect(db).close()
    assert store.inspect_file(db) is None
    other = tmp_path / "other"
    other.write_bytes(b"not a database, " * 20)
    other.replace(db)  # a restore, a salvage, another program
    assert "is not an SQLite database" in store.inspect_file(db)


def test_making_a_loose_database_private_keeps_the_locks_of_this_process(tmp_path):
    # A library copied in with a loose umask is made owner-only when it opens (privacy.tighten),
    # while other connections of this process may hold it.
    from facefolio.library.storage import privacy
    db = tmp_path / "library.sqlite3"
    store.connect(db).close()
    con = store.connect(db)
    con.execute("SELECT count(*) FROM meta").fetchone()
    db.chmod(0o644)
    assert privacy.tighten(tmp_path) == []
    assert db.stat().st_mode & 0o777 == 0o600
    run = subprocess.run([sys.executable, "-c", _OTHER_PROCESS, str(db)], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert Path(f"{db}-wal").exists()
    assert con.execute("SELECT value FROM meta WHERE key = 'other'").fetchone()[0] == "written"
    con.close()
