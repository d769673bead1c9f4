#!/usr/bin/env python3
"""TLS cost: Foghorn's HTTPS listener vs nginx (Debian nginx-light) serving the same certificate.

    swift build -c release --product foghorn && perf/tls.py [--seconds 6] [--key ec|rsa]

Both servers pinned to core 1 (Foghorn `--loops 1`, nginx 1 worker); clients pinned to core 0.
Rows: full handshakes (`openssl s_time -new`), resumed handshakes (`-reuse`: TLS session
resumption), and HTTPS /play requests over keep-alive (`wrk`, same request stream as perf/run.py's
main row). For each: client-side rate and the **server's CPU per handshake/request** (Δ
utime+stime / count), whose inverse is what one server core sustains.
"""
import argparse, os, re, signal, shutil, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "perf"))
import run as perf  # noqa: E402  (shared helpers: cpu_seconds, wrk, fixtures)

CACHE = perf.CACHE

def certs(kind):
    return perf.certs(kind)

def s_time(port, seconds, reuse):
    cmd = ["taskset", "-c", "0", "openssl", "s_time", "-connect", f"127.0.0.1:{port}", "-time", str(seconds),
           *(["-reuse", "-tls1_2"] if reuse else ["-new"])]  # s_time reads no data, so only TLS 1.2 resumes
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    m = re.search(r"(\d+) connections in ([\d.]+)s", out)
    return (int(m.group(1)), float(m.group(2))) if m else (0, 1.0)

def measure_handshakes(pid, port, seconds, reuse):
    s_time(port, 1, reuse)
    before = perf.cpu_seconds(pid)
    count, wall = s_time(port, seconds, reuse)
    used = perf.cpu_seconds(pid) - before
    return {"rate": count / max(wall, 1e-9), "cpu_us": used / max(count, 1) * 1e6, "count": count}

def start_nginx(cert, key):
    conf_dir = os.path.join(CACHE, "nginx-tls")
    os.makedirs(conf_dir, exist_ok=True)
    conf = os.path.join(conf_dir, "nginx.conf")
    open(conf, "w").write(f"""worker_processes 1; daemon off; pid {conf_dir}/nginx.pid; error_log stderr error;
events {{ worker_connections 8192; }}
http {{ access_log off;
  ssl_session_cache shared:SSL:10m; ssl_session_tickets on; ssl_protocols TLSv1.2 TLSv1.3;
  server {{ listen 127.0.0.1:18581 ssl; ssl_certificate {cert}; ssl_certificate_key {key};
    location / {{ return 307 https://edge-00042.perf.example/hls/p42/index.m3u8; }} }} }}
""")
    proc = subprocess.Popen(["taskset", "-c", "1", shutil.which("nginx") or "/usr/sbin/nginx", "-c", conf, "-p", conf_dir],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    return proc, int(children[0])

def start_foghorn(config, cert, key):
    proc = subprocess.Popen(["taskset", "-c", "1", perf.FOGHORN, "serve", "--config", config, "--loops", "1",
                             "--http-listen", "127.0.0.1:18508", "--internal-listen", "127.0.0.1:18509",
                             "--https-listen", "127.0.0.1:18543", "--tls-cert", cert, "--tls-key", key],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = proc.stdout.readline().decode()
    if "ready" not in line: raise SystemExit(f"foghorn did not start: {line}")
    return proc

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=6)
    ap.add_argument("--key", choices=["ec", "rsa"], default="ec")
    a = ap.parse_args()
    os.makedirs(CACHE, exist_ok=True)
    cert, key = certs(a.key)
    db, _ = perf.geolite()
    fixture = os.path.join(CACHE, "f100")
    if not os.path.exists(fixture + ".json"):
        subprocess.run([sys.executable, os.path.join(ROOT, "perf/make_fixture.py"), "--geoip", db, "--out", fixture,
                        "--edges", "1000", "--streams", "1000", "--per-stream", "100"], check=True, capture_output=True)
    lua = fixture + ".lua"
    results = {}
    nginx, worker = start_nginx(cert, key)
    try:
        results["nginx"] = (measure_handshakes(worker, 18581, a.seconds, False), measure_handshakes(worker, 18581, a.seconds, True),
                            perf.measure(worker, "https://127.0.0.1:18581", a.seconds, 64, lua))
    finally:
        nginx.send_signal(signal.SIGQUIT); nginx.wait(timeout=10)
    proc = start_foghorn(fixture + ".json", cert, key)
    try:
        results["foghorn"] = (measure_handshakes(proc.pid, 18543, a.seconds, False), measure_handshakes(proc.pid, 18543, a.seconds, True),
                              perf.measure(proc.pid, "https://127.0.0.1:18543", a.seconds, 64, lua))
    finally:
        proc.send_signal(signal.SIGTERM); proc.wait(timeout=20)
    print(f"key: {a.key.upper()} ({'P-256' if a.key == 'ec' else '2048'}), server on core 1, clients on core 0, {a.seconds} s per row\n")
    print(f"{'row':44} {'nginx':>22} {'foghorn':>22}")
    for i, name in enumerate(["full handshakes (s_time -new)", "resumed handshakes (s_time -reuse, TLS 1.2)"]):
        n, f = results["nginx"][i], results["foghorn"][i]
        print(f"{name:44} {n['rate']:>9.0f}/s {n['cpu_us']:>7.0f} µs {f['rate']:>9.0f}/s {f['cpu_us']:>7.0f} µs")
    n, f = results["nginx"][2], results["foghorn"][2]
    print(f"{'HTTPS keep-alive (64 conns; nginx: static 307)':44} {n['rps']:>9.0f}/s {n['cpu_us']:>7.1f} µs {f['rps']:>9.0f}/s {f['cpu_us']:>7.1f} µs")
    print(f"\n(µs = server CPU per handshake or request; one core sustains 1e6/µs of them.) p99 keep-alive: nginx {n['p99']}, foghorn {f['p99']}")

if __name__ == "__main__":
    main()
