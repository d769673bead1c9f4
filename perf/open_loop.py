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

def open_loop(pid, port, rate, seconds, connections, targets, timeline_us=0):
    """One loadgen run at `rate`; adds the server's CPU per response (utime + stime) during it."""
    u0, s0 = perf.cpu_split(pid)
    extra = ["--timeline-over-us", str(timeline_us)] if timeline_us else []
    out = subprocess.run(["taskset", "-c", "0", LOADGEN, "--port", str(port), "--rate", str(rate), "--connections", str(connections),
                          "--seconds", str(seconds), "--targets", targets, *extra], capture_output=True, text=True)
    u1, s1 = perf.cpu_split(pid)
    lines = (out.stdout.strip() or out.stderr.strip()).splitlines()
    summary = lines[-1] if lines else "no output"
    responses = next((int(f.split("=")[1]) for f in summary.split() if f.startswith("responses=")), 0)
    cpu = f" server_cpu={(u1 - u0 + s1 - s0) / max(responses, 1) * 1e6:.2f}us/response"
    return "\n".join(lines[:-1] + [summary + cpu])

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--fraction", type=float, default=0.8)
    ap.add_argument("--fixture", default="f100")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--no-nginx", action="store_true", help="skip the nginx control at the same rate")
    ap.add_argument("--timeline-over-us", type=int, default=0,
                    help="also list the 10 ms windows with responses slower than this (µs), with the generator's own send lag")
    a = ap.parse_args()
    subprocess.run(["swift", "build", "-c", "release"], cwd=os.path.join(ROOT, "perf/loadgen"), check=True, capture_output=True)
    db, _ = perf.geolite()
    fixture = os.path.join(perf.CACHE, a.fixture)
    if not os.path.exists(fixture + ".targets"):
        subprocess.run([sys.executable, os.path.join(ROOT, "perf/make_fixture.py"), "--geoip", db, "--out", fixture,
                        "--edges", "1000", "--streams", "1000", "--per-stream", "100"], check=True, capture_output=True)
    targets = fixture + ".targets"
    proc = perf.start_foghorn(fixture + ".json")
    try:
        sat = perf.measure(proc.pid, "http://127.0.0.1:18508", a.seconds, a.connections, fixture + ".lua")
        print(f"saturation (wrk, closed loop, {a.connections} conns): {sat['rps']:,.0f} req/s, p99 {sat['p99']}, "
              f"{sat['cpu_us']:.2f} µs CPU/request")
        rates = {}
        for fraction in sorted({a.fraction, 0.5}):
            rates[fraction] = int(sat["rps"] * fraction)
            print(f"Foghorn, open loop at {fraction:.0%} of saturation: "
                  + open_loop(proc.pid, 18508, rates[fraction], a.seconds, a.connections, targets, a.timeline_over_us))
    finally:
        proc.send_signal(signal.SIGTERM); proc.wait(timeout=20)
    if a.no_nginx: return
    # Control: nginx's static 307 at the same absolute rates, same generator, same request stream.
    # If it misses too, the tail is the machine's (scheduling, the generator's core), not routing.
    nginx, worker = perf.start_nginx()
    try:
        perf.wrk("http://127.0.0.1:18580", 1, a.connections, fixture + ".lua")  # warm up
        for fraction, rate in sorted(rates.items()):
            print(f"nginx static 307, same rate ({rate:,} req/s): "
                  + open_loop(worker, 18580, rate, a.seconds, a.connections, targets, a.timeline_over_us))
    finally:
        nginx.send_signal(signal.SIGQUIT); nginx.wait(timeout=10)

if __name__ == "__main__":
    main()
