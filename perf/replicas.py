#!/usr/bin/env python3
"""Report → routable on *every* replica: three Foghorns on one Redis (a `redis-server` this
script starts on a free loopback port), 1,000 enrolled edges reporting every 5 s spread over
the three replicas (200 reports/s in the background), and each measured report — an edge
starting a new stream, sent to one replica — timed until all three replicas redirect a viewer
of that stream to it (polling each replica's /play every ~1 ms).

    swift build -c release --product foghorn && perf/replicas.py [--rounds 100] [--edges 1000]

Prints p50/p90/p99/max of: the replica that took the report, the two that heard it through
Redis, and every replica (the slowest of the three); then, over 10 s of background reports
alone, each replica's CPU and so its cost per report; Redis's memory per registered edge and
its CPU. Two cores here run three Foghorns, Redis and this script: the numbers are an
upper bound for a real deployment.
"""
import argparse, http.client, json, os, random, shutil, socket, statistics, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "perf"))
import run as perf  # noqa: E402

TOKEN = "perf"

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

class Client:
    def __init__(self, port): self.port = port; self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    def req(self, method, path, body=None, token=TOKEN):
        h = {"Content-Type": "application/json"}
        if token: h["Authorization"] = f"Bearer {token}"
        for attempt in range(2):
            try:
                self.c.request(method, path, json.dumps(body) if body is not None else None, h)
                r = self.c.getresponse(); data = r.read(); return r.status, data
            except (http.client.HTTPException, ConnectionError):
                self.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        raise SystemExit(f"{method} {path} failed twice")

def report(edge, streams, cpu):
    return {"cpu_permille": cpu, "ram_used_bytes": 1000, "ram_max_bytes": 8000, "up_bytes_per_sec": 0,
            "bw_limit_bytes_per_sec": 125000000, "base_url": f"https://{edge}.edges.example/",
            "outputs": {"HLS": "https://HOST/hls/$/index.m3u8"},
            "streams": {s: {"inputs": 1, "viewers": 1, "up_bytes_per_sec": 1000} for s in streams}}

def pct(xs, q): xs = sorted(xs); return xs[min(len(xs) - 1, int(len(xs) * q))]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--edges", type=int, default=1000)
    a = ap.parse_args()
    t_start = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="replicas-", dir=perf.CACHE)
    rport = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                              "--dir", tmp, "--loglevel", "warning"], stdout=subprocess.DEVNULL)
    procs, admin, viewer = [], [], []
    stop = threading.Event()
    try:
        time.sleep(0.3)
        for i in range(3):
            cfg = os.path.join(tmp, f"r{i}.json")
            json.dump({"internal_token": TOKEN, "log_level": "error", "cluster_secret": "perf-secret", "loops": 1,
                       "edge_stale_after_ms": 20000, "edge_evict_after_ms": 60000,
                       "state": {"redis_url": f"redis://127.0.0.1:{rport}/0", "replica_id": f"r{i}"}}, open(cfg, "w"))
            hp, ip = free_port(), free_port()
            p = subprocess.Popen([perf.FOGHORN, "serve", "--config", cfg, "--http-listen", f"127.0.0.1:{hp}", "--internal-listen", f"127.0.0.1:{ip}"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            if "ready" not in p.stdout.readline().decode(): raise SystemExit("replica did not start")
            procs.append(p); admin.append(ip); viewer.append(hp)
        def stage(what): print(f"[{time.monotonic() - t_start:6.1f} s] {what}", file=sys.stderr, flush=True)
        stage("replicas up")
        a0 = Client(admin[0])
        st, body = a0.req("POST", "/v1/enrollment-tokens", {"max_uses": a.edges})
        enrollment = json.loads(body)["enrollment_token"]
        edges = []
        for i in range(a.edges):
            st, body = Client(admin[i % 3]).req("POST", "/v1/edges/enroll", {"enrollment_token": enrollment, "public_ip": "203.0.113.7"}, token=None)
            if st != 201: raise SystemExit(f"enrol {i}: {st} {body}")
            j = json.loads(body); edges.append((j["node_id"], j["edge_token"]))
        stage(f"{a.edges} edges enrolled")
        measured = edges[:10]
        background = edges[10:]
        sent = [0]
        def reporter(k):
            clients = [Client(p) for p in admin]
            mine = background[k::4]
            interval = 5.0 / max(1, len(mine))
            n = 0
            while not stop.is_set():
                node, cred = mine[n % len(mine)]
                t = time.monotonic()
                clients[n % 3].req("POST", f"/v1/edges/{node}/report", report(node, [f"live+bg{n % 50}"], 100 + n % 200), token=cred)
                sent[0] += 1; n += 1
                time.sleep(max(0, interval - (time.monotonic() - t)))
        threads = [threading.Thread(target=reporter, args=(k,), daemon=True) for k in range(4)]
        for t in threads: t.start()
        for node, cred in measured:
            Client(admin[0]).req("POST", f"/v1/edges/{node}/report", report(node, [], 100), token=cred)
        viewers = [http.client.HTTPConnection("127.0.0.1", p, timeout=10) for p in viewer]
        checkers = [Client(p) for p in admin]
        took, others, every = [], [], []
        time.sleep(2)  # the background reports reach their rate
        stage("measuring")
        started = time.monotonic(); sent0 = sent[0]
        for r in range(a.rounds):
            node, cred = measured[r % len(measured)]
            stream = f"live+m{r}"
            a0.req("PUT", f"/v1/playback/m{r}", {"stream": stream})
            # the record reaches every replica (the changelog) before the clock starts
            for c in checkers:
                for _ in range(2000):
                    if c.req("GET", f"/v1/playback/m{r}")[0] == 200: break
                    time.sleep(0.001)
                else: raise SystemExit(f"round {r}: the playback record did not reach every replica in 2 s")
            to = r % 3
            t0 = time.monotonic()
            Client(admin[to]).req("POST", f"/v1/edges/{node}/report", report(node, [stream], 100), token=cred)
            done = [None, None, None]
            deadline = t0 + 5
            while None in done and time.monotonic() < deadline:
                for i, v in enumerate(viewers):
                    if done[i] is not None: continue
                    v.request("GET", f"/play/m{r}/hls"); resp = v.getresponse(); resp.read()
                    if resp.status == 307: done[i] = (time.monotonic() - t0) * 1000
            if None in done: raise SystemExit(f"round {r}: not routable everywhere within 5 s: {done}")
            took.append(done[to]); others.extend(done[i] for i in range(3) if i != to); every.append(max(done))
        wall = time.monotonic() - started
        stage("measured; 10 s of background reports alone for the CPU figure")
        cpu0 = [perf.cpu_seconds(p.pid) for p in procs]
        q0, sent0 = time.monotonic(), sent[0]
        time.sleep(10)
        cpu1 = [perf.cpu_seconds(p.pid) for p in procs]
        quiet = time.monotonic() - q0
        stop.set()
        rate = (sent[0] - sent0) / quiet
        wall = quiet
        def line(name, xs): print(f"{name:34s} p50 {statistics.median(xs):6.1f}  p90 {pct(xs, .9):6.1f}  p99 {pct(xs, .99):6.1f}  max {max(xs):6.1f} ms")
        print(f"{a.edges} edges, 3 replicas, {a.rounds} measured reports; background {rate:.0f} reports/s")
        line("replica that took the report", took)
        line("each other replica (via Redis)", others)
        line("every replica (slowest of three)", every)
        cpu = [(b - a0_) / wall for a0_, b in zip(cpu0, cpu1)]
        print(f"replica CPU while measuring: {', '.join(f'{c * 100:.0f} %' for c in cpu)} of a core "
              f"(each applies all {rate:.0f} reports/s: ≈ {statistics.mean(cpu) / max(rate, 1) * 1e6:.0f} µs of CPU per report per replica, taking, forwarding or applying it)")
        def redis_cli(*args): return subprocess.run(["redis-cli", "-p", str(rport), *args], capture_output=True, text=True).stdout.strip()
        per_edge = int(redis_cli("MEMORY", "USAGE", "foghorn:local:edges")) / a.edges
        print(f"Redis: {per_edge:.0f} bytes per registered edge (MEMORY USAGE of the edges hash / edges); "
              f"changelog {redis_cli('XLEN', 'foghorn:local:log')} entries, {redis_cli('MEMORY', 'USAGE', 'foghorn:local:log')} bytes")
        info = dict(l.split(":", 1) for l in redis_cli("INFO", "cpu").splitlines() if ":" in l)
        print(f"Redis CPU: {float(info['used_cpu_user']) + float(info['used_cpu_sys']):.2f} s in all")
    finally:
        stop.set()
        for p in procs: p.terminate()
        for p in procs: p.wait()
        redis.terminate(); redis.wait()
        shutil.rmtree(tmp, ignore_errors=True)

if __name__ == "__main__":
    main()
