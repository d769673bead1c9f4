#!/usr/bin/env python3
"""What a configuration reload (SIGHUP) costs with a large static config: 10,000 edges ×
100,000 playback IDs (perf/memory.py's fixture, 10 edges per stream; 83 MB of JSON).

    swift build -c release --product foghorn && perf/reload.py [--rounds 3]

Starts Foghorn on a copy of the fixture, then each round rewrites the copy and sends SIGHUP for:
the same file, one edge's load, one edge's streams, one edge added, one edge removed, one
playback record re-pointed, new weights. Per kind it prints (medians over the rounds): the
reload thread's read and the control loop's apply (the `configuration reloaded` log line),
SIGHUP → published (polling /debug/snapshot every ms; "-" when nothing was published), the
build time and which kinds of snapshot build it took (from /metrics). No reload should take a
full build.
"""
import argparse, copy, json, os, re, signal, statistics, subprocess, sys, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "perf"))
import run as perf  # noqa: E402
import memory  # noqa: E402

INTERNAL = "http://127.0.0.1:18509"

def get(path, token):
    req = urllib.request.Request(INTERNAL + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=5) as r: return r.read().decode()

def builds(token):
    out = {}
    for line in get("/metrics", token).splitlines():
        m = re.match(r'foghorn_snapshot_builds_total\{kind="(\w+)"\} (\d+)', line)
        if m: out[m.group(1)] = int(m.group(2))
        m = re.match(r'foghorn_config_reloads_total\{result="(\w+)"\} (\d+)', line)
        if m: out["reload_" + m.group(1)] = int(m.group(2))
    return out

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    base = json.load(open(memory.big_fixture() + ".json"))
    base["log_level"] = "info"
    token = base.get("internal_token", "perf")
    path = os.path.join(perf.CACHE, "reload10k.json")
    log_path = os.path.join(perf.CACHE, "reload10k.log")
    json.dump(base, open(path, "w"))
    log = open(log_path, "w")
    proc = perf.start_foghorn(path, stderr=log)
    results = {}
    try:
        cfg = copy.deepcopy(base)
        for r in range(a.rounds):
            def change(kind, edit):
                edit(cfg)
                json.dump(cfg, open(path + ".tmp", "w"))
                os.replace(path + ".tmp", path)
                before = builds(token)
                generation = json.loads(get("/debug/snapshot", token))["generation"]
                lines = open(log_path).read().count("configuration reload")
                t0 = time.monotonic()
                proc.send_signal(signal.SIGHUP)
                while open(log_path).read().count("configuration reload") == lines: time.sleep(0.001)
                published = None
                deadline = time.monotonic() + 0.5
                while time.monotonic() < deadline:
                    snap = json.loads(get("/debug/snapshot", token))
                    if snap["generation"] != generation:
                        published = (time.monotonic() - t0) * 1000
                        break
                    time.sleep(0.001)
                time.sleep(0.05)
                after = builds(token)
                line = [l for l in open(log_path).read().splitlines() if "configuration reload" in l][-1]
                entry = json.loads(line)
                if "refused" in entry.get("msg", ""): raise SystemExit(f"{kind}: reload refused: {entry}")
                snap = json.loads(get("/debug/snapshot", token))
                took = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0) and not k.startswith("reload_")}
                results.setdefault(kind, []).append((float(entry["read_ms"]), float(entry["apply_ms"]), published,
                                                     snap["build_time_us"] / 1000 if published is not None else None, took))
            n = len(cfg["edges"])
            change("same file", lambda c: None)
            change("one edge's load", lambda c: c["edges"][r].update(cpu_permille=(c["edges"][r].get("cpu_permille", 0) + 100) % 1000))
            def streams(c):
                s = c["edges"][10 + r]["streams"]
                del s[sorted(s)[0]]
            change("one edge's streams", streams)
            def add(c):
                e = copy.deepcopy(c["edges"][20 + r]); e["node_id"] += f"-new{r}"; c["edges"].append(e)
            change("one edge added", add)
            change("one edge removed", lambda c: c["edges"].pop(n // 2))
            change("one playback record", lambda c: c["playback"][r].update(stream=c["playback"][r + 1]["stream"]))
            change("weights", lambda c: c.update(weight_geo=500 + r))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    print(f"reloads of a 10,000-edge, 100,000-record config ({os.path.getsize(path) / 2**20:.0f} MiB), {a.rounds} rounds, medians:")
    print(f"{'change':22s} {'read ms':>8s} {'apply ms':>9s} {'published ms':>13s} {'build ms':>9s}  builds")
    fmt = lambda v: "-" if v is None else f"{v:.1f}"
    for kind, rows in results.items():
        med = lambda i: statistics.median([x[i] for x in rows if x[i] is not None]) if any(x[i] is not None for x in rows) else None
        took = {}
        for x in rows:
            for k, v in x[4].items(): took[k] = took.get(k, 0) + v
        print(f"{kind:22s} {fmt(med(0)):>8s} {fmt(med(1)):>9s} {fmt(med(2)):>13s} {fmt(med(3)):>9s}  {took or 'none'}")

if __name__ == "__main__":
    main()
