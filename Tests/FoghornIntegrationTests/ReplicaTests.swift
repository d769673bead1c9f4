import Foundation
import Testing
import FoghornApp
import FoghornConfig
import FoghornJSON
import FoghornSync
import FoghornTesting

/// Several Foghorns of one cluster on one real `redis-server`: a write on any replica is
/// honoured by every other, reports reach every replica, a token's last use is taken once,
/// Redis stalled or restarted empty loses nothing.
@Suite(.serialized) struct ReplicaTests {
    static let token = RoutingTests.token

    /// A replica on `redis`, returned once ready: listening to the other replicas' channels (what
    /// they publish before that never reaches it).
    static func replica(_ redis: RedisServer, _ name: String) throws -> FoghornServer {
        let server = try TestServer.start { c in
            c.internalToken = token
            c.clusterSecret = "replica-secret"
            c.clusterSlug = "eu1"
            c.rootDomain = "example.net"
            c.stateRedisUrl = redis.url
            c.replicaId = name
        }
        var ready = false
        for _ in 0..<500 where !ready {  // ≤ 5 s
            ready = (try? TestClient.get(port: server.internalPort, "/readyz").status) == 200
            if !ready { usleep(10_000) }
        }
        #expect(ready, "replica \(name) ready")
        return server
    }

    static func call(_ s: FoghornServer, _ method: String, _ path: String, body: String? = nil, token: String? = ReplicaTests.token) throws -> TestClient.Response {
        try RoutingTests.call(s.internalPort, method, path, body: body, token: token)
    }

    /// Polls (bounded, ≤ 3 s) until `check` holds.
    static func eventually(_ check: () throws -> Bool) rethrows -> Bool {
        for _ in 0..<300 {
            if try check() { return true }
            usleep(10_000)
        }
        return try check()
    }

    static func play(_ s: FoghornServer, _ id: String) throws -> Int { try TestClient.get(port: s.httpPort, "/play/\(id)/hls").status }

    /// A replica is not ready before it listens to the others' channels, then says so.
    @Test func readinessWaitsForTheReplicaChannels() throws {
        let redis = try RedisServer()
        let a = try Self.replica(redis, "a")
        defer { a.stopNow() }
        let verbose = try JSONParser.parse(try TestClient.get(port: a.internalPort, "/readyz?verbose").body)
        let check = verbose["checks"]?.arrayValue?.first { $0["name"] == .string("replicas") }
        #expect(check?["ok"] == .bool(true))
        #expect(check?["detail"]?.stringValue?.hasPrefix("listening to the other replicas") == true)
    }

    @Test func writesAndReportsOnOneReplicaAreHonouredByEveryOther() throws {
        let redis = try RedisServer()
        let a = try Self.replica(redis, "a"), b = try Self.replica(redis, "b"), c = try Self.replica(redis, "c")
        defer { for s in [a, b, c] { s.stopNow() } }
        // Enrolled on A, reporting to A, a playback record set on B: routed by B and C.
        let (node, credential) = try RoutingTests.enroll(a.internalPort)
        #expect(try RoutingTests.report(a.internalPort, node, credential, stream: "live+r").status == 200)
        #expect(try Self.call(b, "PUT", "/v1/playback/r-id", body: #"{"stream": "live+r"}"#).status == 201)
        for s in [a, b, c] {
            #expect(try Self.eventually { try Self.play(s, "r-id") == 307 }, "replica \(s.internalPort) routes the report it did not receive")
        }
        let routed = try TestClient.get(port: c.httpPort, "/play/r-id/hls")
        #expect(routed.header("Location")?.hasPrefix("https://\(node).edges.example/") == true)
        // The edge reports to C (behind one DNS name): its credential works there too.
        #expect(try RoutingTests.report(c.internalPort, node, credential, stream: "live+r", inputs: 1).status == 200)
        // A mode set on B is honoured by A.
        #expect(try Self.call(b, "PUT", "/v1/edges/\(node)/mode", body: #"{"mode": "draining"}"#).status == 200)
        #expect(try Self.eventually { try Self.play(a, "r-id") == 503 })
        #expect(try JSONParser.parse(try Self.call(a, "GET", "/v1/edges/\(node)").body)["mode"] == .string("draining"))
        // Weights set on C: A and B answer them.
        #expect(try Self.call(c, "PUT", "/v1/weights", body: #"{"cpu": 9}"#).status == 200)
        #expect(try Self.eventually { try JSONParser.parse(try Self.call(a, "GET", "/v1/weights").body)["cpu"] == .int(9) })
        // Deleted on A: gone on B, and its credential reports nowhere.
        #expect(try Self.call(a, "DELETE", "/v1/edges/\(node)").status == 204)
        #expect(try Self.eventually { try Self.call(b, "GET", "/v1/edges/\(node)").status == 404 })
        #expect(try RoutingTests.report(b.internalPort, node, credential).status == 401)
        let state = try JSONParser.parse(try Self.call(b, "GET", "/debug/state").body)
        #expect(state["backend"] == .string("redis"))
        #expect(state["replica_id"] == .string("b"))
        #expect(state["available"] == .bool(true))
        #expect((state["remote_entries_applied"]?.intValue ?? 0) >= 3)
        #expect((state["reports_received"]?.intValue ?? 0) >= 1)
        #expect(try FederationTests.metric(b, #"foghorn_state_available"#) == 1)
        // A replica started now loads everything.
        let d = try Self.replica(redis, "d")
        defer { d.stopNow() }
        #expect(try Self.call(d, "GET", "/v1/playback/r-id").status == 200)
        #expect(try JSONParser.parse(try Self.call(d, "GET", "/v1/weights").body)["cpu"] == .int(9))
    }

    @Test func twoReplicasRedeemingATokensLastUseAtOnceOneSucceeds() throws {
        let redis = try RedisServer()
        let a = try Self.replica(redis, "a"), b = try Self.replica(redis, "b")
        defer { for s in [a, b] { s.stopNow() } }
        for round in 0..<5 {
            let issued = try JSONParser.parse(try Self.call(a, "POST", "/v1/enrollment-tokens", body: #"{"max_uses": 1}"#).body)
            let enrollment = try #require(issued["enrollment_token"]?.stringValue)
            let statuses = Locked<[Int]>([])
            let group = DispatchGroup()
            for s in [a, b] {
                group.enter()
                DispatchQueue.global().async {
                    let r = try? Self.call(s, "POST", "/v1/edges/enroll", body: #"{"enrollment_token": "\#(enrollment)", "public_ip": "203.0.113.\#(round)"}"#, token: nil)
                    statuses.withLock { $0.append(r?.status ?? 0) }
                    group.leave()
                }
            }
            #expect(group.wait(timeout: .now() + 10) == .success)
            #expect(statuses.withLock { $0.sorted() } == [201, 403], "round \(round)")
        }
    }

    @Test func aStalledRedisKeepsRoutingRefusesWritesAndLosesNothing() throws {
        let redis = try RedisServer()
        let a = try Self.replica(redis, "a"), b = try Self.replica(redis, "b")
        defer { for s in [a, b] { s.stopNow() } }
        let (node, credential) = try RoutingTests.enroll(a.internalPort)
        #expect(try RoutingTests.report(a.internalPort, node, credential, stream: "live+r").status == 200)
        #expect(try Self.call(a, "PUT", "/v1/playback/before", body: #"{"stream": "live+r"}"#).status == 201)
        // A answered the PUT once committed and applied; its snapshot is published a few ms later.
        #expect(try Self.eventually { try Self.play(a, "before") == 307 })
        #expect(try Self.eventually { try Self.play(b, "before") == 307 })
        redis.pause()
        // Viewers see nothing; reports still apply locally; writes answer 503 within the command timeout.
        #expect(try Self.play(a, "before") == 307)
        #expect(try Self.play(b, "before") == 307)
        #expect(try RoutingTests.report(a.internalPort, node, credential, stream: "live+r").status == 200)
        let started = Date()
        let refused = try Self.call(b, "PUT", "/v1/playback/during", body: #"{"stream": "live+r"}"#)
        #expect(refused.status == 503)
        #expect(try JSONParser.parse(refused.body)["code"] == .string("STATE_UNAVAILABLE"))
        #expect(Date().timeIntervalSince(started) < 6)
        #expect(try Self.call(b, "GET", "/v1/playback/during").status == 404, "a refused write changed nothing")
        // Ten seconds stopped in all: routing never notices.
        while Date().timeIntervalSince(started) < 10 {
            #expect(try Self.play(a, "before") == 307)
            #expect(try Self.play(b, "before") == 307)
            usleep(200_000)
        }
        redis.resume()
        // Back: writes are accepted again and nothing written before is lost.
        var accepted = false
        for _ in 0..<100 where !accepted {
            accepted = try Self.call(b, "PUT", "/v1/playback/after", body: #"{"stream": "live+r"}"#).status == 201
            if !accepted { usleep(100_000) }
        }
        #expect(accepted)
        #expect(try Self.eventually { try Self.play(a, "after") == 307 })
        #expect(try Self.call(a, "GET", "/v1/playback/before").status == 200)
        #expect(try Self.call(b, "GET", "/v1/edges/\(node)").status == 200)
        let state = try JSONParser.parse(try Self.call(b, "GET", "/debug/state").body)
        #expect((state["reconnects"]?.intValue ?? 0) >= 1)
        #expect((state["resyncs"]?.intValue ?? 0) >= 1)
        #expect(state["available"] == .bool(true))
    }

    @Test func redisRestartedEmptyIsReseededFromMemory() throws {
        let redis = try RedisServer()
        let a = try Self.replica(redis, "a")
        defer { a.stopNow() }
        let (node, _) = try RoutingTests.enroll(a.internalPort)
        #expect(try Self.call(a, "PUT", "/v1/playback/kept", body: #"{"stream": "live+k"}"#).status == 201)
        #expect(try Self.call(a, "PUT", "/v1/edges/\(node)/mode", body: #"{"mode": "maintenance"}"#).status == 200)
        redis.stop()
        try redis.start()  // empty: no persistence
        #expect(try redis.command(["HLEN", "foghorn:local:playback"]) == ":0")
        // The replica notices (its connection dropped, the epoch is gone) and writes its memory back.
        #expect(try Self.eventually { (try? redis.command(["HLEN", "foghorn:local:playback"])) == ":1" })
        #expect(try Self.eventually { (try? redis.command(["EXISTS", "foghorn:local:epoch"])) == ":1" })
        let fresh = try Self.replica(redis, "fresh")
        defer { fresh.stopNow() }
        #expect(try Self.call(fresh, "GET", "/v1/playback/kept").status == 200)
        #expect(try JSONParser.parse(try Self.call(fresh, "GET", "/v1/edges/\(node)").body)["mode"] == .string("maintenance"))
        // Writes work again.
        #expect(try Self.eventually { (try? Self.call(a, "PUT", "/v1/playback/new", body: #"{"stream": "live+k"}"#).status) == 201 })
    }

    /// Anti-herd across replicas: a burst split over three replicas is seen whole by each of
    /// them within the share interval (100 ms) and a pub/sub hop, so no replica keeps sending
    /// viewers to an edge the others are already filling.
    @Test func aBurstSplitOverThreeReplicasIsSeenWholeByEach() throws {
        let redis = try RedisServer()
        let a = try Self.replica(redis, "a"), b = try Self.replica(redis, "b"), c = try Self.replica(redis, "c")
        defer { for s in [a, b, c] { s.stopNow() } }
        let (node, credential) = try RoutingTests.enroll(a.internalPort)
        #expect(try RoutingTests.report(a.internalPort, node, credential, stream: "live+h").status == 200)
        #expect(try Self.call(a, "PUT", "/v1/playback/h", body: #"{"stream": "live+h"}"#).status == 201)
        for s in [a, b, c] { #expect(try Self.eventually { try Self.play(s, "h") == 307 }) }
        func pending(_ s: FoghornServer) throws -> Int64 {
            try JSONParser.parse(try Self.call(s, "GET", "/v1/edges/\(node)").body)["pending_bytes_per_sec"]?.intValue ?? -1
        }
        usleep(300_000)
        let base = try pending(a)
        for _ in 0..<30 { #expect(try Self.play(a, "h") == 307) }
        #expect(try Self.eventually { try pending(a) > base })
        let one = try pending(a) - base  // what 30 viewers weigh
        #expect(one > 0)
        for _ in 0..<30 { #expect(try Self.play(b, "h") == 307) }
        for _ in 0..<30 { #expect(try Self.play(c, "h") == 307) }
        // Every replica sees all 90 (pending ages slowly: within 10 %).
        for s in [a, b, c] {
            let whole = try Self.eventually { let p = try pending(s) - base; return p >= one * 3 * 9 / 10 }
            let seen = try pending(s) - base
            #expect(whole, "replica \(s.internalPort) sees \(seen) of \(one * 3)")
        }
    }

    /// A replica that missed changelog entries (trimmed before it read them: it fell behind by
    /// more than `changelog_max`) notices from the stream's newest trimmed ID and reads
    /// everything again.
    @Test func aTrimmedChangelogEntryTriggersAResync() throws {
        let redis = try RedisServer()
        let a = try Self.replica(redis, "a")
        defer { a.stopNow() }
        #expect(try Self.call(a, "PUT", "/v1/playback/first", body: #"{"stream": "live+f"}"#).status == 201)
        // A commit whose changelog entry is gone before `a` could read it.
        let record = #"{"k":"playback","id":"missed","stream":"live+m","tenant":"","cluster":""}"#
        try redis.command(["EVAL", """
            local id = redis.call('XADD', KEYS[1] .. 'log', '*', 'r', 'other', 'm', '[]')
            redis.call('XDEL', KEYS[1] .. 'log', id)
            redis.call('HSET', KEYS[1] .. 'playback', 'missed', ARGV[1])
            return id
            """, "1", "foghorn:local:", record])
        #expect(try Self.eventually { try Self.call(a, "GET", "/v1/playback/missed").status == 200 })
        #expect((try JSONParser.parse(try Self.call(a, "GET", "/debug/state").body)["changelog_gaps"]?.intValue ?? 0) >= 1)
        #expect(try Self.call(a, "GET", "/v1/playback/first").status == 200)
    }

    /// Another replica's changelog entries are checked at the door like API input: a rogue
    /// entry (a control byte in a stream name) is refused and counted, the next good one applies.
    @Test func aRogueChangelogEntryIsRefusedAtTheDoor() throws {
        let redis = try RedisServer()
        let a = try Self.replica(redis, "a"), b = try Self.replica(redis, "b")
        defer { for s in [a, b] { s.stopNow() } }
        let rogue = #"[{"k":"playback","id":"evil","stream":"live+\r\nSet-Cookie:x","tenant":"","cluster":""}]"#
        try redis.command(["XADD", "foghorn:local:log", "*", "r", "rogue", "m", rogue])
        #expect(try Self.call(b, "PUT", "/v1/playback/good", body: #"{"stream": "live+g"}"#).status == 201)
        #expect(try Self.eventually { try Self.call(a, "GET", "/v1/playback/good").status == 200 })
        #expect(try Self.call(a, "GET", "/v1/playback/evil").status == 404)
        #expect(try FederationTests.metric(a, #"foghorn_input_rejections_total{source="replica"}"#) >= 1)
    }
}

/// Peering with replicas: cluster a runs two replicas on one Redis, cluster b one Foghorn. One
/// replica of a owns the channel to b (a lease in Redis); the other routes b's edges from what
/// the owner forwards; the owner's death hands the channel over within `dead_after_s`.
@Suite(.serialized) struct ReplicaPeeringTests {
    @Test func oneReplicaOwnsTheChannelBothRouteAndTheLeaseMovesWhenTheOwnerDies() throws {
        let redis = try RedisServer()
        let pa1 = try FederationTests.freePort("127.0.0.2"), pa2 = try FederationTests.freePort("127.0.0.4"), pb = try FederationTests.freePort("127.0.0.3")
        let toB = [PeerConfig(cluster: "b", host: "127.0.0.3", port: pb, mode: .always, secret: FederationTests.secret)]
        func replica(_ name: String, _ ip: String, _ port: UInt16) throws -> FoghornServer {
            try FederationTests.start("a", ip: ip, peerPort: port, peers: toB, playback: [("pb", "live+bs")]) { c in
                c.stateRedisUrl = redis.url
                c.replicaId = name
            }
        }
        let a1 = try replica("a1", "127.0.0.2", pa1), a2 = try replica("a2", "127.0.0.4", pa2)
        let b = try FederationTests.start("b", ip: "127.0.0.3", peerPort: pb,
                                          peers: [PeerConfig(cluster: "a", host: "127.0.0.2", port: pa1, mode: .always, secret: FederationTests.secret)],
                                          edges: [FederationTests.edge("b1", stream: "live+bs")])
        var stopped: [FoghornServer] = []
        defer {
            for s in [a1, a2, b] where !stopped.contains(where: { $0 === s }) { s.stopNow() }
        }
        func connected(_ s: FoghornServer) throws -> Bool { try FederationTests.peer(s, "b")?["state"] == .string("connected") }
        // Exactly one replica of a holds the channel.
        #expect(try FederationTests.eventually(8000) { try connected(a1) != connected(a2) })
        usleep(1_500_000)
        #expect(try connected(a1) != connected(a2), "one owner, not two")
        // Both replicas route a's viewers to b's edge.
        for s in [a1, a2] {
            #expect(try FederationTests.eventually(5000) { try FederationTests.call(s, "GET", "/play/pb/hls").status == 307 })
        }
        // The owner dies; the other replica takes the channel over and keeps routing.
        let (owner, survivor) = try connected(a1) ? (a1, a2) : (a2, a1)
        owner.stopNow()
        stopped.append(owner)
        #expect(try FederationTests.eventually(10_000) { try connected(survivor) })
        #expect(try FederationTests.call(survivor, "GET", "/play/pb/hls").status == 307)
    }
}

extension ReplicaPeeringTests {
    /// A viewer miss on the follower: the owner asks the on-demand peer once for the whole
    /// cluster, and both replicas route within the query deadline.
    @Test func aMissOnTheFollowerIsAskedOnceByTheOwner() throws {
        let redis = try RedisServer()
        let pa1 = try FederationTests.freePort("127.0.0.2"), pa2 = try FederationTests.freePort("127.0.0.4"), pb = try FederationTests.freePort("127.0.0.3")
        let toB = [PeerConfig(cluster: "b", host: "127.0.0.3", port: pb, mode: .onDemand, secret: FederationTests.secret)]
        func replica(_ name: String, _ ip: String, _ port: UInt16) throws -> FoghornServer {
            try FederationTests.start("a", ip: ip, peerPort: port, peers: toB, playback: [("od", "live+od")]) { c in
                c.stateRedisUrl = redis.url
                c.replicaId = name
                c.peering.queryDeadlineMs = 1000
            }
        }
        let a1 = try replica("a1", "127.0.0.2", pa1), a2 = try replica("a2", "127.0.0.4", pa2)
        let b = try FederationTests.start("b", ip: "127.0.0.3", peerPort: pb,
                                          peers: [PeerConfig(cluster: "a", host: "127.0.0.2", port: pa1, mode: .onDemand, secret: FederationTests.secret)],
                                          edges: [FederationTests.edge("b1", stream: "live+od")])
        defer { for s in [a1, a2, b] { s.stopNow() } }
        func owns(_ s: FoghornServer) throws -> Bool {
            try JSONParser.parse(try FederationTests.call(s, "GET", "/debug/state", toInternal: true).body)["owns_peer_channels"] == .bool(true)
        }
        #expect(try FederationTests.eventually(5000) { try owns(a1) != owns(a2) })
        let follower = try owns(a1) ? a2 : a1
        let answered = try FederationTests.call(follower, "GET", "/play/od/hls")
        #expect(answered.status == 307, "the follower's viewer is routed after the owner's query")
        for s in [a1, a2] { #expect(try FederationTests.eventually(3000) { try FederationTests.call(s, "GET", "/play/od/hls").status == 307 }) }
        #expect(try FederationTests.metric(b, #"foghorn_peer_queries_served_total{result="found"}"#) == 1, "asked once for the cluster")
    }
}

/// Replicas as real processes: one `kill -9`'d under viewer load; the others keep routing and
/// taking writes, and a restarted one catches up.
@Suite(.serialized) struct ReplicaProcessTests {
    static func start(_ dir: URL, _ redis: RedisServer, _ name: String) throws -> FoghornProcess {
        let file = dir.appendingPathComponent("\(name).yaml")
        try """
            log_level: error
            internal_token: \(RoutingTests.token)
            cluster_secret: replica-secret
            cluster_slug: eu1
            root_domain: example.net
            state: {redis_url: "\(redis.url)", replica_id: \(name)}
            """.write(to: file, atomically: true, encoding: .utf8)
        let p = try FoghornProcess(arguments: [
            "serve", "--config", file.path, "--http-listen", "127.0.0.1:0", "--internal-listen", "127.0.0.1:0", "--loops", "1",
        ])
        try p.waitUntilReady()
        var ready = false  // listening to the other replicas (see ReplicaTests.replica)
        for _ in 0..<500 where !ready {
            ready = (try? TestClient.get(port: p.internalPort, "/readyz").status) == 200
            if !ready { usleep(10_000) }
        }
        #expect(ready, "replica \(name) ready")
        return p
    }

    @Test func oneReplicaKilledUnderLoadLeavesTheOthersUnaffected() throws {
        let redis = try RedisServer()
        let dir = URL(fileURLWithPath: try ScratchDirectory.make("foghorn-replicas"))
        let a = try Self.start(dir, redis, "a"), b = try Self.start(dir, redis, "b"), c = try Self.start(dir, redis, "c")
        var killed = false
        defer {
            for p in killed ? [a, c] : [a, b, c] {
                p.signal(SIGTERM)
                _ = p.waitForExit(timeoutMs: 5000)
            }
        }
        let (node, credential) = try RoutingTests.enroll(a.internalPort)
        #expect(try RoutingTests.report(b.internalPort, node, credential, stream: "live+k").status == 200)
        #expect(try RoutingTests.call(c.internalPort, "PUT", "/v1/playback/k", body: #"{"stream": "live+k"}"#).status == 201)
        for p in [a, b, c] {
            #expect(try ReplicaTests.eventually { try TestClient.get(port: p.httpPort, "/play/k/hls").status == 307 })
        }
        // Viewers on every replica while b dies mid-load.
        let stop = Locked(false)
        let failures = Locked(0), served = Locked(0), lastBad = Locked(0)
        let group = DispatchGroup()
        for port in [a.httpPort, c.httpPort] {
            group.enter()
            DispatchQueue.global().async {
                while !stop.withLock({ $0 }) {
                    // HEAD: routed like GET but adds no pending bandwidth (thousands of GETs would
                    // rightly exhaust the one edge's estimated bandwidth).
                    let status = (try? RoutingTests.call(port, "HEAD", "/play/k/hls", token: nil).status) ?? 0
                    if status == 307 { served.withLock { $0 += 1 } } else { failures.withLock { $0 += 1 }; lastBad.withLock { $0 = status } }
                }
                group.leave()
            }
        }
        usleep(300_000)
        b.signal(SIGKILL)
        _ = b.waitForExit(timeoutMs: 5000)
        killed = true
        usleep(700_000)
        // The others take writes and reports as before.
        #expect(try RoutingTests.call(a.internalPort, "PUT", "/v1/playback/after", body: #"{"stream": "live+k"}"#).status == 201)
        #expect(try ReplicaTests.eventually { try RoutingTests.call(c.internalPort, "GET", "/v1/playback/after").status == 200 })
        #expect(try RoutingTests.report(c.internalPort, node, credential, stream: "live+k").status == 200)
        stop.withLock { $0 = true }
        #expect(group.wait(timeout: .now() + 10) == .success)
        #expect(failures.withLock { $0 } == 0, "viewers on the surviving replicas all routed (last other answer: \(lastBad.withLock { $0 }))")
        #expect(served.withLock { $0 } > 100)
        // b comes back and knows everything written while it was dead.
        let again = try Self.start(dir, redis, "b2")
        defer {
            again.signal(SIGTERM)
            _ = again.waitForExit(timeoutMs: 5000)
        }
        #expect(try RoutingTests.call(again.internalPort, "GET", "/v1/playback/after").status == 200)
        // Its edge is known but stale until the next report — which reaches it through another replica.
        #expect(try RoutingTests.report(a.internalPort, node, credential, stream: "live+k").status == 200)
        #expect(try ReplicaTests.eventually { try TestClient.get(port: again.httpPort, "/play/k/hls").status == 307 })
    }
}
