#!/usr/bin/env python3
"""RSS with a large routing state (target ≤ 100 MB): 10,000 edges, 100,000 playback IDs
(one stream each, 10 edges per stream → 1,000,000 stream-edge entries), loaded as static
config, after the first snapshot is built. Prints the empty process's RSS for comparison.

    swift build -c release --product foghorn && perf/memory.py
"""
import os, signal, subprocess, sys, time, json

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "perf"))
import run as perf  # noqa: E402

def status_kib(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"): return int(line.split()[1])
    return 0

def rss_after_start(config):
    """(RSS MiB 3 s after ready, peak RSS MiB, seconds from exec to ready)."""
    started = time.monotonic()
    proc = perf.start_foghorn(config)
    ready = time.monotonic() - started
    try:
        time.sleep(3)
        return status_kib(proc.pid, "VmRSS") / 1024, status_kib(proc.pid, "VmHWM") / 1024, ready
    finally:
        proc.send_signal(signal.SIGTERM); proc.wait(timeout=30)

def big_fixture():
    """perf/.cache/mem10k (.json): 10,000 edges, 100,000 playback IDs, 10 edges per stream; made once."""
    os.makedirs(perf.CACHE, exist_ok=True)
    big = os.path.join(perf.CACHE, "mem10k")
    if not os.path.exists(big + ".json"):
        subprocess.run([sys.executable, os.path.join(ROOT, "perf/make_fixture.py"), "--out", big,
                        "--edges", "10000", "--streams", "100000", "--per-stream", "10"], check=True, capture_output=True)
    return big

def main():
    big = big_fixture()
    empty = os.path.join(perf.CACHE, "empty.json")
    json.dump({"loops": 1, "log_level": "error"}, open(empty, "w"))
    base, _, _ = rss_after_start(empty)
    loaded, peak, ready = rss_after_start(big + ".json")
    size = os.path.getsize(big + ".json") / 2**20
    print(f"empty process: {base:.1f} MiB RSS")
    print(f"10,000 edges × 100,000 playback IDs (1,000,000 stream-edge entries; {size:.0f} MiB of config JSON): "
          f"{loaded:.1f} MiB RSS (peak while loading {peak:.0f} MiB; ready after {ready:.1f} s)")

if __name__ == "__main__":
    main()
