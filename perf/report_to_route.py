#!/usr/bin/env python3
"""Measures how long an edge report takes to change routing (target: < 50 ms).

Against a running Foghorn (internal token required):
    perf/report_to_route.py --viewer http://127.0.0.1:18008 --internal http://127.0.0.1:18009 --token T [--rounds 50]
Enrolls two edges, then repeatedly makes the current winner busy (cpu 900‰) and the other idle
in one report each, and polls /play every millisecond until the winner flips. Prints p50/p99/max.
--structural: each report also changes the edge's stream set (one extra stream, new each round,
the previous round's one ended), so every round takes an incremental build (the streams it
touches laid out again) instead of a load refresh.
--move: each report also moves the edge a little (a new position: an incremental build too, the
edge's streams' indexes rebuilt).
--enroll: each round also enrolls a new edge right before the reports (the edge set changes:
edges renumbered by an incremental build, which the reports join or follow).
"""
import argparse, json, os, statistics, subprocess, sys, time, urllib.request

def call(url, method="GET", body=None, token=None):
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None)
    if token: req.add_header("Authorization", f"Bearer {token}")
    if body is not None: req.add_header("Content-Type", "application/json")
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k): return None
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=5) as r: return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e: return e.code, dict(e.headers), e.read()

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--viewer", default="http://127.0.0.1:18008")
    ap.add_argument("--internal", default="http://127.0.0.1:18009")
    ap.add_argument("--token", required=True)
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--structural", action="store_true", help="every report also changes the edge's streams (incremental builds)")
    ap.add_argument("--move", action="store_true", help="every report also moves the edge (incremental builds)")
    ap.add_argument("--enroll", action="store_true", help="every round also enrolls an edge (renumbering builds)")
    a = ap.parse_args()
    # A stream and playback ID of this run's own: edges enrolled by an earlier run against the same
    # server (still routable until they go stale) must not win the flips.
    tag = f"{os.getpid()}x{int(time.time())}"
    stream, probe = f"perf+s{tag}", f"perfprobe{tag}"
    def enroll():
        _, _, body = call(a.internal + "/v1/enrollment-tokens", "POST", {}, a.token)
        tok = json.loads(body)["enrollment_token"]
        _, _, body = call(a.internal + "/v1/edges/enroll", "POST", {"enrollment_token": tok, "public_ip": "203.0.113.1"})
        e = json.loads(body)
        return (e["node_id"], e["edge_token"])
    edges = [enroll(), enroll()]
    rounds = [0]
    def report(node, token, cpu):
        rounds[0] += 1
        streams = {stream: {"inputs": 1, "viewers": 1}}
        if a.structural:
            streams[f"{stream}x{rounds[0]}"] = {"inputs": 1, "viewers": 1}
        position = {"lat": 10 + (rounds[0] % 1000) / 1000, "lon": 20} if a.move else {}
        s, _, _ = call(f"{a.internal}/v1/edges/{node}/report", "POST", {**position,
            "cpu_permille": cpu, "ram_used_bytes": 1, "ram_max_bytes": 100, "up_bytes_per_sec": 0,
            "bw_limit_bytes_per_sec": 10**12, "base_url": f"https://{node}.example/",
            "streams": streams}, token)
        assert s == 204, s
    call(a.internal + f"/v1/playback/{probe}", "PUT", {"stream": stream}, a.token)
    report(edges[0][0], edges[0][1], 100); report(edges[1][0], edges[1][1], 900)
    time.sleep(0.1)
    latencies = []
    winner = 0
    for _ in range(a.rounds):
        other = 1 - winner
        start = time.perf_counter()
        if a.enroll: enroll()
        report(edges[winner][0], edges[winner][1], 900)
        report(edges[other][0], edges[other][1], 100)
        while True:
            _, h, _ = call(a.viewer + f"/play/{probe}/hls")
            if h.get("X-Foghorn-Edge") == edges[other][0]: break
            if time.perf_counter() - start > 2: print("no flip within 2 s", file=sys.stderr); sys.exit(1)
            time.sleep(0.001)
        latencies.append((time.perf_counter() - start) * 1000)
        winner = other
    latencies.sort()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    parts = (["enrolment + reports"] if a.enroll else []) + (["moving reports"] if a.move else []) + \
        (["stream-set reports"] if a.structural else [])
    kind = " + ".join(parts) if parts else "load reports"
    if a.enroll: kind += " (renumbering builds)"
    elif a.move or a.structural: kind += " (incremental builds)"
    print(f"commit {commit}: {kind}: report → routing visible over {len(latencies)} rounds (two reports + polling, ms): "
          f"p50 {statistics.median(latencies):.1f}  p99 {latencies[int(len(latencies)*0.99)-1]:.1f}  max {latencies[-1]:.1f}")

if __name__ == "__main__":
    main()
