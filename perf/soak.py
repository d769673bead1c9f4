#!/usr/bin/env python3
"""Soak: a long run at half of saturation with everything around it moving, printed per minute.

    perf/soak.py [--minutes 10] [--fraction 0.5] [--edges 1000]

Setup (all on 127.0.0.1):
- Foghorn (release, `--loops 1`, core 1) on the f100 fixture (1,000 static edges, 1,000 streams ×
  100 edges, 10,000 viewer IPs through a trusted X-Forwarded-For, GeoLite2), plus
  - an `always` peer cluster `b`: a second Foghorn that is killed and restarted every 45 s (a
    flapping peer: the channel drops, is redialled with backoff, its edges go stale and come back);
  - a MistServer node that is blackholed: a socket that completes TCP handshakes and never answers
    (polls time out, back off, and must not leak connections);
  - every edge reporting its load over the internal API every 10 s (100 reports/s);
  - a reload (SIGHUP) every minute.
- Viewers: perf/loadgen open loop at `fraction` × the saturation wrk measured first, in one-minute
  chunks (latency from the scheduled send time, coordinated omission corrected).

Per minute it prints p50/p99/max, the generator's errors and non-3xx answers, report errors, RSS
and open file descriptors of the Foghorn process. At the end: RSS growth after the first minute
(warm-up), fds at the start vs the end, total errors. Goals (docs/PERFORMANCE.md "Soak"): RSS growth
< 5 %, fds equal, 0 errors.
"""
import argparse, http.client, json, os, random, signal, socket, subprocess, sys, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "perf"))
import run as perf  # noqa: E402

LOADGEN = os.path.join(ROOT, "perf/loadgen/.build/release/foghorn-loadgen")
PEER_SECRET = "soak-peer-secret-0123456789"


def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"): return int(line.split()[1]) / 1024
    return 0.0


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


class Blackhole:
    """A listening socket nobody accepts from: connects complete (kernel backlog), nothing answers."""
    def __init__(self):
        self.sock = socket.socket(); self.sock.bind(("127.0.0.1", 0)); self.sock.listen(1024)
        self.port = self.sock.getsockname()[1]


class Reporter(threading.Thread):
    """Every edge reports its load every `interval` s, spread evenly, over keep-alive connections."""
    def __init__(self, port, edges, interval=10.0):
        super().__init__(daemon=True)
        self.port, self.edges, self.interval = port, edges, interval
        self.sent = self.errors = 0
        self.stop = threading.Event()
        self.rng = random.Random(7)

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        gap = self.interval / len(self.edges)
        next_at = time.monotonic()
        i = 0
        while not self.stop.is_set():
            e = self.edges[i % len(self.edges)]; i += 1
            body = json.dumps({"cpu_permille": self.rng.randrange(50, 900), "ram_used_bytes": self.rng.randrange(1, 15) * 2**30,
                               "ram_max_bytes": 16 * 2**30, "up_bytes_per_sec": self.rng.randrange(0, 10**9)})
            try:
                conn.request("POST", f"/v1/edges/{e}/report", body, {"Authorization": "Bearer perf", "Content-Type": "application/json"})
                r = conn.getresponse(); r.read()
                if r.status != 204: self.errors += 1
            except Exception:
                self.errors += 1
                conn.close(); conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            self.sent += 1
            next_at += gap
            delay = next_at - time.monotonic()
            if delay > 0: time.sleep(delay)


def start_peer(peer_port, local_peer_port):
    config = {"cluster_id": "b", "loops": 1, "log_level": "error", "internal_token": "perf",
              "peer_listen": f"127.0.0.1:{peer_port}",
              "peers": [{"cluster": "local", "address": f"127.0.0.1:{local_peer_port}", "mode": "always", "secret": PEER_SECRET}],
              "edges": [{"node_id": f"b-{i}", "base_url": f"https://b-{i}.peer.example/", "lat": 40.7, "lon": -74.0,
                         "cpu_permille": 200, "ram_used_bytes": 1, "ram_max_bytes": 16, "bw_limit_bytes_per_sec": 10**12,
                         "outputs": {"HLS": "https://HOST/hls/$/index.m3u8"},
                         "streams": {f"live+s{s}": {"inputs": 1, "viewers": 1} for s in range(0, 1000, 10)}} for i in range(20)]}
    path = os.path.join(perf.CACHE, "soak-peer.json")
    json.dump(config, open(path, "w"))
    proc = subprocess.Popen(["taskset", "-c", "0", perf.FOGHORN, "serve", "--config", path, "--http-listen", f"127.0.0.1:{free_port()}",
                             "--internal-listen", f"127.0.0.1:{free_port()}"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    proc.stdout.readline()
    return proc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=int, default=10)
    ap.add_argument("--fraction", type=float, default=0.5)
    ap.add_argument("--connections", type=int, default=64)
    a = ap.parse_args()
    subprocess.run(["swift", "build", "-c", "release", "--product", "foghorn"], cwd=ROOT, check=True, capture_output=True)
    subprocess.run(["swift", "build", "-c", "release"], cwd=os.path.join(ROOT, "perf/loadgen"), check=True, capture_output=True)
    db, db_name = perf.geolite()
    fixture = os.path.join(perf.CACHE, "f100")
    if not os.path.exists(fixture + ".targets"):
        subprocess.run([sys.executable, os.path.join(ROOT, "perf/make_fixture.py"), "--geoip", db, "--out", fixture,
                        "--edges", "1000", "--streams", "1000", "--per-stream", "100"], check=True, capture_output=True)
    base = json.load(open(fixture + ".json"))
    edges = [e["node_id"] for e in base["edges"]]
    hole = Blackhole()
    local_peer_port, peer_port = free_port(), free_port()
    base["peer_listen"] = f"127.0.0.1:{local_peer_port}"
    base["peers"] = [{"cluster": "b", "address": f"127.0.0.1:{peer_port}", "mode": "always", "secret": PEER_SECRET}]
    base["mist"] = {"nodes": [f"127.0.0.1:{hole.port}"], "poll_interval_s": 1}
    config = os.path.join(perf.CACHE, "soak.json")
    json.dump(base, open(config, "w"))

    proc = perf.start_foghorn(config)
    peer = start_peer(peer_port, local_peer_port)
    reporter = None
    try:
        sat = perf.measure(proc.pid, "http://127.0.0.1:18508", 8, a.connections, fixture + ".lua")
        rate = int(sat["rps"] * a.fraction)
        commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        print(f"commit {commit}; saturation {sat['rps']:,.0f} req/s (wrk, {a.connections} conns); soak at {a.fraction:.0%} = {rate:,} req/s "
              f"for {a.minutes} min; {len(edges)} edges reporting every 10 s; peer b flapping every 45 s; 1 Mist node blackholed; "
              f"SIGHUP every minute; GeoIP {db_name}", flush=True)
        reporter = Reporter(18509, edges); reporter.start()
        time.sleep(2)  # the peer's channel is up (dialled at start)
        fds0, rss = open_fds(proc.pid), []
        print(f"{'min':>3} {'p50 µs':>8} {'p99 µs':>8} {'max µs':>8} {'responses':>10} {'non-3xx':>8} {'gen errors':>10} "
              f"{'report err':>10} {'RSS MiB':>8} {'fds':>5}", flush=True)
        total_errors = 0
        peer_flip_at = time.monotonic() + 45
        for minute in range(1, a.minutes + 1):
            # The peer flaps on its own clock while the generator runs.
            def flapper(stop_at):
                nonlocal peer, peer_flip_at
                while time.monotonic() < stop_at:
                    if time.monotonic() >= peer_flip_at:
                        if peer.poll() is None:
                            peer.send_signal(signal.SIGKILL); peer.wait()
                        else:
                            peer = start_peer(peer_port, local_peer_port)
                        peer_flip_at = time.monotonic() + 45
                    time.sleep(0.2)
            flap = threading.Thread(target=flapper, args=(time.monotonic() + 60,), daemon=True); flap.start()
            errors_before = reporter.errors
            out = subprocess.run(["taskset", "-c", "0", LOADGEN, "--port", "18508", "--rate", str(rate), "--connections", str(a.connections),
                                  "--seconds", "60", "--targets", fixture + ".targets"], capture_output=True, text=True)
            flap.join()
            proc.send_signal(signal.SIGHUP)
            summary = (out.stdout.strip().splitlines() or ["?"])[-1]
            fields = dict(f.split("=", 1) for f in summary.split() if "=" in f)
            statuses = dict(s.split("=") for s in fields.get("statuses", "").split(",") if "=" in s)
            non3xx = sum(int(v) for k, v in statuses.items() if not k.startswith("3"))
            gen_errors = 0 if fields.get("errors", "none") == "none" else sum(int(e.split("=")[1]) for e in fields["errors"].split(","))
            report_errors = reporter.errors - errors_before
            total_errors += non3xx + gen_errors + report_errors
            r, f = rss_mib(proc.pid), open_fds(proc.pid)
            rss.append(r)
            print(f"{minute:>3} {fields.get('p50', '?'):>8} {fields.get('p99', '?'):>8} {fields.get('max', '?'):>8} "
                  f"{fields.get('responses', '?'):>10} {non3xx:>8} {gen_errors:>10} {report_errors:>10} {r:>8.1f} {f:>5}", flush=True)
        reporter.stop.set(); reporter.join(timeout=10)
        # Compare descriptors in the same state as at the start: the peer up and its channel connected.
        if peer.poll() is not None: peer = start_peer(peer_port, local_peer_port)
        time.sleep(5)
        fds1 = open_fds(proc.pid)
        growth = (rss[-1] - rss[0]) / rss[0] * 100 if len(rss) > 1 else 0.0
        late = (rss[-1] - rss[2]) / rss[2] * 100 if len(rss) > 3 else 0.0
        print(f"RSS after warm-up (minute 1) {rss[0]:.1f} MiB → end {rss[-1]:.1f} MiB ({growth:+.1f} %, goal < 5 %); "
              f"from minute 3 (after two reloads and a peer flap) {late:+.1f} %; range minutes 3–end {min(rss[2:] or [0]):.1f}–{max(rss[2:] or [0]):.1f} MiB; "
              f"fds {fds0} → {fds1} (peer connected both times; goal equal); errors {total_errors} (goal 0); reports sent {reporter.sent:,}")
    finally:
        if reporter: reporter.stop.set()
        proc.send_signal(signal.SIGTERM); proc.wait(timeout=40)
        if peer.poll() is None: peer.send_signal(signal.SIGTERM); peer.wait(timeout=40)


if __name__ == "__main__":
    main()
