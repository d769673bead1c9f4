#!/usr/bin/env python3
"""Instructions per routed request, repeatable on a noisy machine (valgrind counts
instructions, not time). Starts the release foghorn under callgrind on the 100-candidate
fixture, zeroes the counters once it is up, sends N keep-alive /play requests from one
connection with varied playback IDs and client IPs, dumps, and prints Ir per request.

    swift build -c release --product foghorn && perf/make_fixture.py --out perf/.cache/f100 && perf/callgrind.py [--requests 20000]
Compare with perf/baselines/callgrind-play.txt (same binary and inputs → same count).
Builds its own DWARF-4 release binary in .build-prof (valgrind 3.19 cannot read DWARF 5).
"""
import argparse, glob, os, random, re, socket, subprocess, time

ap = argparse.ArgumentParser()
ap.add_argument("--requests", type=int, default=20000)
ap.add_argument("--fixture", default="perf/.cache/f100.json")
ap.add_argument("--streams", type=int, default=1000, help="playback IDs p0…p<N-1> exist in the fixture")
ap.add_argument("--json", action="store_true", help="request /play/<id> (the JSON answer) instead of the HLS redirect")
ap.add_argument("--check", action="store_true",
                help="compare the data loop's Ir/request with the budget in perf/baselines/callgrind-play.txt; exit 1 above +5 %%")
ap.add_argument("--binary", default="", help="profile this foghorn binary instead of building one (A/B comparisons)")
ap.add_argument("--compat", choices=["host", "redirect"], default=None,
                help="MistUtilLoad's GET /<stream> (host answer, or ?proto=HLS redirect) instead of /play; use with a fixture whose "
                     "streams are on every edge (perf/make_fixture.py --edges 100 --streams 10 --per-stream 100 --mist-compat) so "
                     "that both paths score the same candidates")
a = ap.parse_args()
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out_dir = os.path.join(root, "perf/.cache/callgrind")
os.makedirs(out_dir, exist_ok=True)
for f in glob.glob(os.path.join(out_dir, "callgrind.out.*")): os.remove(f)
# valgrind 3.19 cannot read the DWARF 5 that Swift 6.3 emits by default: build a release
# binary with DWARF 4 in its own scratch folder (function-level attribution works then).
if a.binary:
    binary = a.binary
else:
    subprocess.run(["swift", "build", "-c", "release", "--product", "foghorn", "--scratch-path", os.path.join(root, ".build-prof"),
                    "-Xswiftc", "-dwarf-version=4", "-Xcc", "-gdwarf-4"], cwd=root, check=True, capture_output=True)
    binary = os.path.join(root, ".build-prof/release/foghorn")
proc = subprocess.Popen(["valgrind", "--tool=callgrind", "--separate-threads=yes", f"--callgrind-out-file={out_dir}/callgrind.out.%p",
                         binary, "serve", "--config", os.path.join(root, a.fixture),
                         "--http-listen", "127.0.0.1:18708", "--internal-listen", "127.0.0.1:18709", "--loops", "1"],
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
while True:
    line = proc.stdout.readline()
    if not line: raise SystemExit("foghorn under valgrind exited before it was ready (a binary with DWARF 5? see --binary)")
    if b"ready" in line: break
time.sleep(1)
rng = random.Random(1)
requests = []
for _ in range(a.requests):
    ip = f"{rng.randrange(1, 223)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    if a.compat:
        path = f"/live+s{rng.randrange(a.streams)}" + ("?proto=HLS" if a.compat == "redirect" else "")
    else:
        path = f"/play/p{rng.randrange(a.streams)}" + ("" if a.json else "/hls/index.m3u8")
    requests.append(f"GET {path} HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: {ip}\r\n\r\n".encode())
s = socket.create_connection(("127.0.0.1", 18708))
s.sendall(requests[0]); s.recv(65536)  # warm the connection
subprocess.run(["callgrind_control", "--zero", str(proc.pid)], capture_output=True)
statuses = {}
for r in requests:
    s.sendall(r)
    data = b""
    while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 4 + int(re.search(rb"Content-Length: (\d+)", data).group(1)):
        data += s.recv(65536)
    status = data[9:12].decode()
    statuses[status] = statuses.get(status, 0) + 1
subprocess.run(["callgrind_control", "--dump", str(proc.pid)], capture_output=True)
time.sleep(1)
s.close()
proc.terminate(); proc.wait(timeout=60)
# One dump per thread: the data loop is the thread named in its file with the most instructions
# that ran `process`; report it and the whole-process total.
per_thread = {}
for path in glob.glob(os.path.join(out_dir, "callgrind.out.*.1-*")):  # the explicit dump after zeroing
    total = 0
    for line in open(path):
        if line.startswith("summary:") or line.startswith("totals:"):
            total = int(line.split()[1]); break
    per_thread[path] = total
summary = max(per_thread.values()) if per_thread else 0
everything = sum(per_thread.values())
def heap_calls(path):
    """Calls into malloc/calloc/realloc/memalign recorded in one thread's dump (by any caller)."""
    names, callee, count = {}, None, 0
    for line in open(path):
        if line.startswith("cfn="):
            m = re.match(r"cfn=\((\d+)\)(?: (.*))?", line.strip())
            if m and m.group(2): names[m.group(1)] = m.group(2)
            callee = names.get(m.group(1)) if m else line[4:].strip()
        elif line.startswith("fn="):
            m = re.match(r"fn=\((\d+)\)(?: (.*))?", line.strip())
            if m and m.group(2): names[m.group(1)] = m.group(2)
        elif line.startswith("calls=") and callee in ("malloc", "calloc", "realloc", "posix_memalign", "aligned_alloc"):
            count += int(line[6:].split()[0])
    return count
busiest = max(per_thread, key=per_thread.get) if per_thread else None
allocations = heap_calls(busiest) / a.requests if busiest else 0
commit = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip()
kind_text = f"compat GET /<stream>{'?proto=HLS' if a.compat == 'redirect' else ''}" if a.compat else f"/play {'JSON' if a.json else 'HLS'}"
print(f"commit {commit}{' + uncommitted changes' if dirty else ''}: {a.requests} {kind_text} requests "
      f"({os.path.basename(a.fixture)}, varied IDs and IPs, one keep-alive connection): "
      f"busiest thread (the data loop) {summary / a.requests:,.0f} Ir/request; all threads {everything / a.requests:,.0f} Ir/request "
      f"(user space; kernel not counted); heap allocations on the data loop {allocations:.2f}/request "
      f"(timers included: pending shipped to the control loop); answers by status: {dict(sorted(statuses.items()))}")
print(f"per-thread dumps for callgrind_annotate: {', '.join(sorted(per_thread))}")
if a.check:
    kind = "json" if a.json else "hls"
    baseline = os.path.join(root, "perf/baselines/callgrind-play.txt")
    budget = next((int(line.split(":")[1]) for line in open(baseline) if line.startswith(f"budget {kind}:")), None)
    if budget is None: raise SystemExit(f"no 'budget {kind}:' line in {baseline}")
    measured = summary / a.requests
    verdict = "within" if measured <= budget * 1.05 else "OVER"
    print(f"budget {kind}: {budget:,} Ir/request; measured {measured:,.0f} ({(measured / budget - 1) * 100:+.1f} %): {verdict} the +5 % allowance")
    # A request that allocates shows as ≥ 1 per request; the loop's timers add a few hundredths.
    if allocations >= 0.5: print(f"heap allocations: {allocations:.2f} per request on the data loop: the request path allocates")
    if verdict == "OVER" or allocations >= 0.5: raise SystemExit(1)
