#!/usr/bin/env python3
"""Open-loop latency at a fraction of saturation (target: p99 ≤ 1 ms at 80 %, 64 connections).

    perf/open_loop.py [--seconds 10] [--fraction 0.8] [--fixture f100]

1. Builds perf/loadgen (release) and uses the fixture of perf/run.py (1,000 edges, 100 per
   stream, 1,000 streams, 10,000 viewer IPs through a trusted X-Forwarded-For, GeoLite2).
2. Starts Foghorn pinned to core 1 (`--loops 1`); finds saturation with wrk (closed loop,
   64 connections, core 0) — the highest request rate one core sustains.
3. Runs foghorn-loadgen (core 0) at `fraction` × saturation, open loop: requests are scheduled
   at a fixed rate and latency counts from the scheduled time (coordinated omission corrected),
   HdrHistogram p50/p90/p99/p99.9/max, errors by kind.
"""
import argparse, os, signal, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "perf"))
import run as perf  # noqa: E402

LOADGEN = os.path.join(ROOT, "perf/loadgen/.build/release/foghorn-loadgen")

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--fraction", type=float, default=0.8)
    ap.add_argument("--fixture", default="f100")
    ap.add_argument("--connections", type=int, default=64)
    a = ap.parse_args()
    subprocess.run(["swift", "build", "-c", "release"], cwd=os.path.join(ROOT, "perf/loadgen"), check=True, capture_output=True)
    db, _ = perf.geolite()
    fixture = os.path.join(perf.CACHE, a.fixture)
    if not os.path.exists(fixture + ".targets"):
        subprocess.run([sys.executable, os.path.join(ROOT, "perf/make_fixture.py"), "--geoip", db, "--out", fixture,
                        "--edges", "1000", "--streams", "1000", "--per-stream", "100"], check=True, capture_output=True)
    proc = perf.start_foghorn(fixture + ".json")
    try:
        sat = perf.measure(proc.pid, "http://127.0.0.1:18508", a.seconds, a.connections, fixture + ".lua")
        rate = int(sat["rps"] * a.fraction)
        print(f"saturation (wrk, closed loop, {a.connections} conns): {sat['rps']:,.0f} req/s, p99 {sat['p99']}, "
              f"{sat['cpu_us']:.2f} µs CPU/request")
        for fraction in sorted({a.fraction, 0.5}):
            r = int(sat["rps"] * fraction)
            out = subprocess.run(["taskset", "-c", "0", LOADGEN, "--port", "18508", "--rate", str(r), "--connections", str(a.connections),
                                  "--seconds", str(a.seconds), "--targets", fixture + ".targets"], capture_output=True, text=True)
            print(f"open loop at {fraction:.0%} of saturation: {out.stdout.strip() or out.stderr.strip()}")
    finally:
        proc.send_signal(signal.SIGTERM); proc.wait(timeout=20)

if __name__ == "__main__":
    main()
