#!/usr/bin/env python3
"""MistUtilLoad-compatible routing under load.

Starts N fake MistServer controllers on 127.0.0.x (Python threads serving a fixed
/<passphrase>.json with huge bandwidth caps so every request is scored), the release
`foghorn` polling them (pinned to core 1, one data loop), then drives
`GET /<stream>?lat=..&lon=..` with wrk (pinned to core 0). Prints requests/s, p50/p99 and
the server's CPU microseconds per request (from /proc/<pid>/stat).

    swift build -c release --product foghorn && perf/mist_compat.py [--nodes 20] [--seconds 10]
"""
import argparse, json, os, re, subprocess, sys, threading, time, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

def fake_node(host, i, passphrase):
    doc = json.dumps({
        "cpu": 100 + (i * 37) % 800, "mem_total": 16_000_000, "mem_used": 2_000_000 + i * 10_000,
        "shm_total": 1_000_000, "shm_used": 1000, "curr": [10, 1, 0, 0], "bw": [0, 0], "bwlimit": 10**13,
        "loc": {"lat": 30 + (i * 7) % 30, "lon": -120 + (i * 13) % 140, "name": f"node{i}"}, "tags": ["eu" if i % 2 else "us"],
        "streams": {"live+foo": {"curr": [10, 1, 0, 0], "bw": [0, 0]}},
        "outputs": {"HLS": "http://HOST:8080/hls/$/index.m3u8"}}).encode()
    class H(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200); self.send_header("Content-Length", str(len(doc))); self.end_headers(); self.wfile.write(doc)
        def log_message(self, *a): pass
    srv = ThreadingHTTPServer((host, 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv.server_address[1]

def cpu_ticks(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=20)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    binary = os.path.join(root, ".build/release/foghorn")
    if not os.path.exists(binary): sys.exit("build first: swift build -c release --product foghorn")
    nodes = [f"127.0.0.{10 + i // 200}:{fake_node(f'127.0.0.{10 + i // 200}', i, 'koekjes')}" for i in range(a.nodes)]
    args = [binary, "serve", "--http-listen", "127.0.0.1:18408", "--internal-listen", "127.0.0.1:18409", "--loops", "1",
            "--log-level", "error", "--set", 'mist={"poll_interval_s": 1}'] + sum((["--mist-node", n] for n in nodes), [])
    server = subprocess.Popen(["taskset", "-c", "1"] + args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        server.stdout.readline()
        deadline = time.time() + 10
        while time.time() < deadline:
            listing = json.loads(urllib.request.urlopen("http://127.0.0.1:18409/?lstserver=1").read())
            if len(listing) == a.nodes and all(v == "Monitored (online)" for v in listing.values()): break
            time.sleep(0.2)
        url = "http://127.0.0.1:18408/live+foo?lat=52&lon=5"
        answer = urllib.request.urlopen(url).read().decode()
        hz = os.sysconf("SC_CLK_TCK")
        before = cpu_ticks(server.pid)
        out = subprocess.run(["taskset", "-c", "0", "wrk", "-t1", f"-c{a.connections}", f"-d{a.seconds}s", "--latency", url],
                             capture_output=True, text=True).stdout
        used = (cpu_ticks(server.pid) - before) / hz
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1); p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
        total = rps * a.seconds
        commit = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        print(f"commit {commit}: GET /live+foo?lat=52&lon=5 over {a.nodes} polled Mist nodes (answer {answer!r}), "
              f"wrk -t1 -c{a.connections} -d{a.seconds}s on core 0, foghorn --loops 1 on core 1")
        print(f"requests/s {rps:,.0f}   p50 {p50}   p99 {p99}   server CPU {used / total * 1e6:.2f} µs/request")
    finally:
        server.terminate(); server.wait(timeout=10)

main()
