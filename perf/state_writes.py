#!/usr/bin/env python3
"""What a durable admin write costs (docs/DEPLOYMENT.md's capacity model): latency of one
`PUT /v1/playback/<id>` answered after its commit, one at a time and 8 in flight, against a
Foghorn with a state file on this machine's disk (SQLite, WAL, synchronous=FULL: one fsync per
group commit), and the same with `state_path: :memory:` (the commit without the disk).

    swift build -c release --product foghorn && perf/state_writes.py [--writes 2000]
"""
import argparse, http.client, json, os, shutil, statistics, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "perf"))
import run as perf  # noqa: E402

TOKEN = "perf"

def writes(n, start, conns):
    lat = []
    lock = threading.Lock()
    def worker(k):
        c = http.client.HTTPConnection("127.0.0.1", 18509, timeout=30)
        mine = []
        for i in range(k, n, conns):
            body = json.dumps({"stream": f"live+{i % 97}"})
            t0 = time.perf_counter()
            c.request("PUT", f"/v1/playback/w{start + i}", body, {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
            r = c.getresponse(); r.read()
            mine.append((time.perf_counter() - t0) * 1000)
            if r.status not in (200, 201): raise SystemExit(f"write answered {r.status}")
        with lock: lat.extend(mine)
    t0 = time.perf_counter()
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(conns)]
    for t in ts: t.start()
    for t in ts: t.join()
    wall = time.perf_counter() - t0
    lat.sort()
    return statistics.median(lat), lat[int(len(lat) * 0.99) - 1], n / wall

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--writes", type=int, default=2000)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="foghorn-state-perf-", dir=perf.CACHE)
    try:
        for label, path in [("file (WAL, synchronous=FULL)", os.path.join(tmp, "state.db")), (":memory:", ":memory:")]:
            cfg = os.path.join(tmp, "cfg.json")
            json.dump({"internal_token": TOKEN, "log_level": "error", "state_path": path}, open(cfg, "w"))
            proc = perf.start_foghorn(cfg)
            try:
                for conns in (1, 8):
                    p50, p99, rate = writes(a.writes, conns * 100000, conns)
                    print(f"{label:30s} {conns} in flight: p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  {rate:8.0f} writes/s")
            finally:
                proc.terminate(); proc.wait()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"disk: {os.statvfs(perf.CACHE).f_bsize} B blocks under {perf.CACHE}")

if __name__ == "__main__":
    main()
