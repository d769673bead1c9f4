#!/usr/bin/env python3
"""RSS cost of idle keep-alive connections: opens N connections to a fresh foghorn
(`--loops 1`), sends one request on each (so each went through a full request), leaves them
idle, and prints RSS before/after and bytes per connection.

    swift build -c release --product foghorn && perf/idle_connections.py [--connections 10000]
"""
import argparse, os, resource, socket, subprocess, time

ap = argparse.ArgumentParser()
ap.add_argument("--connections", type=int, default=10000)
a = ap.parse_args()
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, a.connections + 1000), hard))
proc = subprocess.Popen([os.path.join(root, ".build/release/foghorn"), "serve", "--config", os.path.join(root, "fixtures/demo/foghorn.yaml"),
                         "--http-listen", "127.0.0.1:18608", "--internal-listen", "127.0.0.1:18609", "--loops", "1", "--log-level", "error",
                         "--set", "idle_timeout_ms=600000", "--set", f"max_connections_per_loop={a.connections + 100}"],
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
proc.stdout.readline()
def rss():
    return int([l for l in open(f"/proc/{proc.pid}/status") if l.startswith("VmRSS:")][0].split()[1]) * 1024
time.sleep(0.5)
before = rss()
socks = []
try:
    for i in range(a.connections):
        s = socket.create_connection(("127.0.0.1", 18608))
        s.sendall(b"GET /play/demo/hls/index.m3u8 HTTP/1.1\r\nHost: x\r\n\r\n")
        socks.append(s)
    for s in socks:
        s.recv(4096)
    time.sleep(1)
    after = rss()
    commit = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"commit {commit}: {a.connections} idle keep-alive connections (one request each): RSS {before/2**20:.1f} MiB -> {after/2**20:.1f} MiB, "
          f"{(after - before) / a.connections:.0f} bytes per connection")
finally:
    for s in socks: s.close()
    proc.terminate(); proc.wait(timeout=30)
