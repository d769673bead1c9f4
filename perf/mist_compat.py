#!/usr/bin/env python3
"""MistUtilLoad-compatible routing under load.

Starts N fake MistServer controllers on 127.0.0.x (Python threads serving a fixed
/<passphrase>.json with huge bandwidth caps so every request is scored), the release
`foghorn` polling them (pinned to core 1, one data loop), then drives
`GET /<stream>?lat=..&lon=..` with wrk (pinned to core 0). Prints requests/s, p50/p99 and
the server's CPU microseconds per request (from /proc/<pid>/stat).

    swift build -c release --product foghorn && perf/mist_compat.py [--nodes 20] [--seconds 10]
"""
import argparse, http.client, json, os, re, subprocess, sys, threading, time, urllib.request
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
    ap.add_argument("--no-play", action="store_true", help="skip the /play comparison run")
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    binary = os.path.join(root, ".build/release/foghorn")
    if not os.path.exists(binary): sys.exit("build first: swift build -c release --product foghorn")
    config = "/tmp/foghorn-mist-compat.json"  # the /play comparison's playback ID
    with open(config, "w") as f: json.dump({"playback": [{"id": "foo", "stream": "live+foo"}]}, f)
    nodes = [f"127.0.0.{10 + i // 200}:{fake_node(f'127.0.0.{10 + i // 200}', i, 'koekjes')}" for i in range(a.nodes)]
    args = [binary, "serve", "--http-listen", "127.0.0.1:18408", "--internal-listen", "127.0.0.1:18409", "--loops", "1",
            "--log-level", "error", "--set", 'mist={"poll_interval_s": 1}', "--config", config] + sum((["--mist-node", n] for n in nodes), [])
    server = subprocess.Popen(["taskset", "-c", "1"] + args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        server.stdout.readline()
        deadline = time.time() + 10
        while time.time() < deadline:
            listing = json.loads(urllib.request.urlopen("http://127.0.0.1:18409/?lstserver=1").read())
            if len(listing) == a.nodes and all(v == "Monitored (online)" for v in listing.values()): break
            time.sleep(0.2)
        hz = os.sysconf("SC_CLK_TCK")
        commit = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        def measure(url):
            c = http.client.HTTPConnection("127.0.0.1", 18408); c.request("GET", url.split("18408", 1)[1]); r = c.getresponse()
            answer = r.getheader("Location") or r.read().decode(); c.close()
            before = cpu_ticks(server.pid)
            out = subprocess.run(["taskset", "-c", "0", "wrk", "-t1", f"-c{a.connections}", f"-d{a.seconds}s", "--latency", url],
                                 capture_output=True, text=True).stdout
            used = (cpu_ticks(server.pid) - before) / hz
            rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
            p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1); p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
            return answer, rps, p50, p99, used / (rps * a.seconds) * 1e6
        print(f"commit {commit}: {a.nodes} polled Mist nodes, wrk -t1 -c{a.connections} -d{a.seconds}s on core 0, foghorn --loops 1 on core 1")
        compat = measure("http://127.0.0.1:18408/live+foo?lat=52&lon=5")
        print(f"GET /live+foo?lat=52&lon=5 (answer {compat[0]!r}): requests/s {compat[1]:,.0f}   p50 {compat[2]}   p99 {compat[3]}   "
              f"server CPU {compat[4]:.2f} µs/request")
        redirect = measure("http://127.0.0.1:18408/live+foo?lat=52&lon=5&proto=HLS")
        print(f"GET /live+foo?lat=52&lon=5&proto=HLS (307 to {redirect[0]}): requests/s {redirect[1]:,.0f}   p50 {redirect[2]}   p99 {redirect[3]}   "
              f"server CPU {redirect[4]:.2f} µs/request")
        if not a.no_play:
            # /play of the same stream (same candidates): redirects are not followed by wrk.
            play = measure("http://127.0.0.1:18408/play/foo/hls/index.m3u8")
            print(f"GET /play/foo/hls/index.m3u8 (307 to {play[0]}): requests/s {play[1]:,.0f}   p50 {play[2]}   p99 {play[3]}   server CPU {play[4]:.2f} µs/request")
            print(f"compat / play CPU ratio {compat[4] / play[4]:.2f} (host answer), {redirect[4] / play[4]:.2f} (redirect)")
    finally:
        server.terminate(); server.wait(timeout=10)

main()
