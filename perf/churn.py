#!/usr/bin/env python3
"""Streams coming and going all day: does the process stay the same size?

    swift build -c release --product foghorn && perf/churn.py [--edges 100] [--streams 200] [--rounds 100]

Starts Foghorn (release, no static state), enrolls `--edges` edges, then each round every edge
reports `--streams` streams of that round's own (the previous round's end) plus one steady stream
with a playback ID. Every 10 rounds it prints: stream names seen so far, names interned
(`foghorn_stream_names`) and given back (`..._reclaimed_total`), snapshot stream slots (live +
ended since the last full build), full builds (first snapshot, empty-slot and name sweeps), RSS,
and that the steady playback ID still routes. Names interned and RSS should level off instead of
growing with the names seen.
"""
import argparse, json, os, re, subprocess, sys, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "perf"))
import run as perf  # noqa: E402

from report_to_route import call  # noqa: E402

VIEWER, INTERNAL, TOKEN = "http://127.0.0.1:18508", "http://127.0.0.1:18509", "perf"

def metrics():
    _, _, body = call(INTERNAL + "/metrics", token=TOKEN)
    out = {}
    for line in body.decode().splitlines():
        m = re.match(r'(foghorn_stream_names(?:_reclaimed_total)?) (\d+)', line)
        if m: out[m.group(1)] = int(m.group(2))
        m = re.match(r'foghorn_snapshot_builds_total\{kind="full"\} (\d+)', line)
        if m: out["full"] = int(m.group(1))
    return out

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edges", type=int, default=100)
    ap.add_argument("--streams", type=int, default=200, help="streams per edge per round")
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--log", help="write the server's log (level info) here and summarise its name retirements")
    a = ap.parse_args()
    os.makedirs(perf.CACHE, exist_ok=True)
    config = os.path.join(perf.CACHE, "churn.json")
    json.dump({"internal_token": TOKEN, "log_level": "info" if a.log else "warning", "max_body_bytes": 67108864,
               "playback": [{"id": "steady", "stream": "live+steady"}]}, open(config, "w"))
    log = open(a.log, "w") if a.log else subprocess.DEVNULL
    proc = perf.start_foghorn(config, stderr=log)
    try:
        edges = []
        for _ in range(a.edges):
            _, _, body = call(INTERNAL + "/v1/enrollment-tokens", "POST", {}, TOKEN)
            tok = json.loads(body)["enrollment_token"]
            _, _, body = call(INTERNAL + "/v1/edges/enroll", "POST", {"enrollment_token": tok, "public_ip": "203.0.113.1"})
            e = json.loads(body)
            edges.append((e["node_id"], e["edge_token"]))
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
        print(f"commit {commit}: {a.edges} edges × {a.streams} new streams per round")
        print(f"{'round':>5} {'names seen':>10} {'interned':>9} {'reclaimed':>9} {'slots':>7} {'full':>4} {'RSS MiB':>7}  steady")
        started = time.monotonic()
        for r in range(1, a.rounds + 1):
            for k, (node, token) in enumerate(edges):
                streams = {f"live+r{r}e{k}s{i}": {"inputs": 1, "viewers": 1} for i in range(a.streams)}
                streams["live+steady"] = {"inputs": 1, "viewers": 1}
                s, _, body = call(f"{INTERNAL}/v1/edges/{node}/report", "POST", {
                    "cpu_permille": 100 + k % 800, "ram_used_bytes": 1, "ram_max_bytes": 100, "bw_limit_bytes_per_sec": 10**12,
                    "lat": 50 + k % 10, "lon": 5 + k // 10, "base_url": f"https://{node}.example/", "streams": streams}, token)
                if s != 204: raise SystemExit(f"report refused: {s} {body[:200]}")
            if r % 10 == 0 or r == a.rounds:
                time.sleep(0.05)
                m = metrics()
                _, _, body = call(INTERNAL + "/debug/snapshot", token=TOKEN)
                slots = json.loads(body).get("stream_slots", -1)
                status, _, _ = call(VIEWER + "/play/steady/hls")
                print(f"{r:>5} {r * a.edges * a.streams + 1:>10} {m.get('foghorn_stream_names', -1):>9} "
                      f"{m.get('foghorn_stream_names_reclaimed_total', -1):>9} {slots:>7} {m.get('full', -1):>4} "
                      f"{perf.rss_kib(proc.pid) / 1024:>7.1f}  {status}", flush=True)
        print(f"{time.monotonic() - started:.1f} s")
        if a.log:
            retire = [json.loads(l) for l in open(a.log) if "stream names retired" in l]
            ms = sorted(float(r.get("retire_ms", "nan")) for r in retire)
            if ms: print(f"{len(ms)} retirements: retired {sum(int(r['retired']) for r in retire)} names, "
                         f"retire_ms median {ms[len(ms) // 2]:.2f} max {ms[-1]:.2f}")
            freed = [json.loads(l) for l in open(a.log) if "stream names freed" in l]
            ms = sorted(float(r.get("free_ms", "nan")) for r in freed)
            if ms: print(f"{len(ms)} frees: freed {sum(int(r['freed']) for r in freed)} names, "
                         f"free_ms median {ms[len(ms) // 2]:.2f} max {ms[-1]:.2f}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)

main()
