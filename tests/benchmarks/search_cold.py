#!/usr/bin/env python
"""One cold "Find this face", as a whole new process (bench_search.py starts it after dropping
the library's files from the page cache). Imports only what its way of searching needs.

    python search_cold.py app   LIBRARY FACE_ID [FACE_ID...]   # the real Library, as the app
    python search_cold.py plain LIBRARY FACE_ID [FACE_ID...]   # sqlite3 + numpy, no index

Prints one JSON line: seconds per phase (import, open, load: the index or every embedding),
the first query and the median of the following ones (ms), resident memory (MB).
"""
from __future__ import annotations

import json
import os
import sys
import time

T0 = time.perf_counter()
TOP = 200  # app/search_page.py `_TOP`

# The plain way's look-up: the rows the app shows for each result.
_ROWS = """SELECT f.id, p.path, f.x, f.y, f.w, f.h, f.person_id, pe.name
           FROM faces f JOIN photos p ON p.id = f.photo_id
           LEFT JOIN people pe ON pe.id = f.person_id WHERE f.id IN ({})"""


def memory() -> dict:
    fields = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS", "VmHWM")):
                fields[line.split(":")[0]] = int(line.split()[1]) / 1024
    return {"rss_mb": round(fields["VmRSS"], 1), "peak_rss_mb": round(fields["VmHWM"], 1)}


def app(path: str, face_ids: list[int]) -> tuple[dict, object]:
    from facefolio.library.storage import index  # noqa: PLC0415
    from facefolio.library.library import Library  # noqa: PLC0415
    t_import = time.perf_counter()
    if os.environ.get("FACEFOLIO_BENCH_EF_SEARCH"):  # bench_search.py --ef-search
        index.EF_SEARCH = int(os.environ["FACEFOLIO_BENCH_EF_SEARCH"])
    lib = Library(path)
    t_open = time.perf_counter()
    lib.index()  # loads the saved index file (checked against the database)
    t_load = time.perf_counter()
    return ({"import_s": t_import - T0, "open_s": t_open - t_import, "load_s": t_load - t_open},
            lambda fid: len(lib.search_face(fid, top=TOP)))


def plain(path: str, face_ids: list[int]) -> tuple[dict, object]:
    import sqlite3  # noqa: PLC0415

    import numpy as np  # noqa: PLC0415
    t_import = time.perf_counter()
    con = sqlite3.connect(f"file:{path}/library.sqlite3?mode=ro", uri=True)
    t_open = time.perf_counter()
    rows = con.execute("SELECT id, embedding FROM faces").fetchall()
    ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
    data = np.frombuffer(b"".join(r[1] for r in rows), np.float32).reshape(len(rows), -1)
    del rows
    order = np.argsort(ids)
    ids, data = ids[order], data[order]
    t_load = time.perf_counter()

    def search(fid: int) -> int:
        sims = data @ data[np.searchsorted(ids, fid)]
        top = np.argpartition(-sims, TOP)[:TOP + 1]
        top = [int(ids[i]) for i in top[np.argsort(-sims[top])] if ids[i] != fid][:TOP]
        return len(con.execute(_ROWS.format(",".join("?" * len(top))), top).fetchall())

    return ({"import_s": t_import - T0, "open_s": t_open - t_import, "load_s": t_load - t_open},
            search)


def main() -> int:
    kind, path, face_ids = sys.argv[1], sys.argv[2], [int(f) for f in sys.argv[3:]]
    phases, search = {"app": app, "plain": plain}[kind](path, face_ids)
    times, found = [], []
    for fid in face_ids:
        t0 = time.perf_counter()
        found.append(search(fid))
        times.append((time.perf_counter() - t0) * 1e3)
    later = sorted(times[1:])
    out = {k: round(v, 3) for k, v in phases.items()}
    out.update(first_query_ms=round(times[0], 2),
               next_queries_p50_ms=round(later[len(later) // 2], 2) if later else None,
               results=found[0], **memory())
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
