#!/usr/bin/env python3
"""What a self-hosted edge costs (docs/EDGES.md): `foghorn edge-agent` against a release
Foghorn with the edge API over TLS and a MistServer stand-in (a keep-alive HTTP server serving a
controller document with N streams). Prints the time from the agent's start to the first routed
viewer, the agent's CPU per report and resident memory after a run, and Foghorn's report rate
over TLS from several agents' worth of reports (one TLS connection each, like the agent's).

    swift build -c release --product foghorn && perf/edge_agent.py [--seconds 20] [--streams 100]
"""
import argparse, http.client, http.server, json, os, shutil, socket, ssl, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".build", "release", "foghorn")
ADMIN = "perf"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def certificates(d):
    run = lambda *a: subprocess.run(["openssl", *a], check=True, capture_output=True)
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.pem",
        "-days", "2", "-subj", "/CN=perf CA")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{d}/f.key", "-out", f"{d}/f.csr", "-subj", "/CN=foghorn")
    open(f"{d}/ext", "w").write("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", f"{d}/f.csr", "-CA", f"{d}/ca.pem", "-CAkey", f"{d}/ca.key", "-CAcreateserial", "-out", f"{d}/f.pem", "-days", "2",
        "-extfile", f"{d}/ext")


def mist_server(streams):
    doc = json.dumps({"cpu": 100, "mem_total": 16_000_000, "mem_used": 4_000_000, "bw": [0, 0],
                      "loc": {"lat": 52.37, "lon": 4.9, "name": "Amsterdam"},
                      "streams": {f"live+s{i}": {"curr": [3, 1], "bw": [1000 * i, 0]} for i in range(streams)}}).encode()

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(doc)))
            self.end_headers()
            self.wfile.write(doc)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def call(port, method, path, body=None, token=ADMIN):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request(method, path, body, {"Authorization": f"Bearer {token}"} if token else {})
    r = c.getresponse()
    data = r.read()
    return r.status, data


def proc_stat(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    rss = next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS:"))
    return cpu, rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--streams", type=int, default=100)
    ap.add_argument("--reports", type=int, default=5000)
    args = ap.parse_args()
    if not os.path.exists(BIN):
        sys.exit("build first: swift build -c release --product foghorn")
    d = tempfile.mkdtemp(prefix="edge-agent-perf-")
    try:
        certificates(d)
        mist = mist_server(args.streams)
        http_port, internal, edge = free_port(), free_port(), free_port()
        open(f"{d}/f.yaml", "w").write("playback:\n  - id: pb1\n    stream: live+s1\n    tenant: t1\n"
                                       "edge_api:\n  report_interval_s: 1\n  credential_burst: 100000\n  credential_per_minute: 1000000\n"
                                       "  address_burst: 100000\n  address_per_minute: 1000000\n")
        serve = subprocess.Popen([BIN, "serve", "--config", f"{d}/f.yaml", "--http-listen", f"127.0.0.1:{http_port}",
                                  "--internal-listen", f"127.0.0.1:{internal}", "--https-listen", "127.0.0.1:0", "--edge-listen", f"127.0.0.1:{edge}",
                                  "--internal-token", ADMIN, "--state-path", f"{d}/state.db", "--tls-cert", f"{d}/f.pem", "--tls-key", f"{d}/f.key",
                                  "--loops", "1"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        serve.stdout.readline()
        try:
            status, body = call(internal, "POST", "/v1/enrollment-tokens", json.dumps({"tenant": "t1", "max_uses": 2}))
            token = json.loads(body)["enrollment_token"]
            t0 = time.perf_counter()
            agent = subprocess.Popen([BIN, "edge-agent", "--foghorn", f"https://127.0.0.1:{edge}", "--ca-file", f"{d}/ca.pem",
                                      "--enrollment-token", token, "--state-file", f"{d}/agent/state.json",
                                      "--mist-url", f"http://127.0.0.1:{mist.server_address[1]}", "--base-url", "http://127.0.0.1:8080/"],
                                     stderr=subprocess.DEVNULL)
            while call(http_port, "GET", "/play/pb1/hls/index.m3u8", token=None)[0] != 307:
                if time.perf_counter() - t0 > 10:
                    sys.exit("no routed viewer within 10 s")
                time.sleep(0.005)
            first = (time.perf_counter() - t0) * 1000
            cpu0, _ = proc_stat(agent.pid)
            time.sleep(args.seconds)
            cpu1, rss = proc_stat(agent.pid)
            agent.terminate()
            agent.wait(10)
            print(f"agent start → first routed viewer: {first:.0f} ms (enrol + sample + report over TLS, interval 1 s)")
            print(f"agent, {args.streams} streams, one report a second: {(cpu1 - cpu0) / args.seconds * 1000:.2f} ms CPU per report, RSS {rss / 1024:.1f} MiB")

            # Reports over TLS, back to back on one connection (what one agent's connection can carry).
            state = json.load(open(f"{d}/agent/state.json"))
            ctx = ssl.create_default_context(cafile=f"{d}/ca.pem")
            report = json.dumps({"cpu_permille": 100, "ram_max_bytes": 8000, "ram_used_bytes": 1000, "bw_limit_bytes_per_sec": 125_000_000,
                                 "streams": {f"live+s{i}": {"inputs": 1, "viewers": 3} for i in range(args.streams)}})
            c = http.client.HTTPSConnection("127.0.0.1", edge, context=ctx, timeout=10)
            headers = {"Authorization": f"Bearer {state['edge_token']}", "Content-Type": "application/json"}
            lat = []
            t0 = time.perf_counter()
            for _ in range(args.reports):
                s = time.perf_counter()
                c.request("POST", f"/v1/edges/{state['node_id']}/report", report, headers)
                r = c.getresponse()
                r.read()
                if r.status != 200:
                    sys.exit(f"report answered {r.status}")
                lat.append((time.perf_counter() - s) * 1000)
            wall = time.perf_counter() - t0
            lat.sort()
            print(f"reports over TLS, {args.streams} streams each, one connection: {args.reports / wall:.0f}/s, "
                  f"p50 {lat[len(lat) // 2]:.2f} ms, p99 {lat[int(len(lat) * 0.99) - 1]:.2f} ms")
        finally:
            serve.terminate()
            serve.wait(10)
            mist.shutdown()
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
