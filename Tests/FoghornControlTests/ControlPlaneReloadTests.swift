import Logging
import Testing
import FoghornConfig
import FoghornControl
import FoghornHTTP
import FoghornModel

/// A reload (SIGHUP) applies only what the file changed, each change the way a runtime one is
/// (edges renumbered in or out, changed ones restructured or refreshed, playback patched,
/// weights recomputed) — never a full build — and routes exactly like a plane started on the
/// new file; an unchanged file publishes nothing.
@Suite struct ControlPlaneReloadTests {
    struct StaticEdge {
        var id: String
        var lat: Int
        var lon: Int
        var cpu: Int
        var streams: [String]
        var tenant = ""
        var mode = "normal"
        var host: String

        var json: String {
            let s = streams.map { #""\#($0)": {"inputs": 1, "viewers": 3}"# }.joined(separator: ", ")
            return #"{"node_id": "\#(id)", "base_url": "https://\#(host).example/", "lat": \#(lat), "lon": \#(lon), "cpu_permille": \#(cpu), "#
                + #""ram_max_bytes": 1000, "bw_limit_bytes_per_sec": 1000000000, "tenant": "\#(tenant)", "mode": "\#(mode)", "streams": {\#(s)}}"#
        }
    }

    struct World {
        var edges: [StaticEdge]
        var playback: [(id: String, stream: String, tenant: String)]
        var weightGeo = 1000

        var config: FoghornConfiguration {
            get throws {
                let p = playback.map { #"{"id": "\#($0.id)", "stream": "\#($0.stream)", "tenant": "\#($0.tenant)"}"# }.joined(separator: ", ")
                let text = #"{"weight_geo": \#(weightGeo), "edges": [\#(edges.map(\.json).joined(separator: ", "))], "playback": [\#(p)]}"#
                return try ConfigLoader.load(fileText: text, fileName: "reload.json")
            }
        }
    }

    /// A small deterministic generator (the test must fail the same way every time).
    struct LCG {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
    }

    static let streams = (0..<12).map { "rl+s\($0)" }

    static func randomEdge(_ id: String, _ rng: inout LCG) -> StaticEdge {
        StaticEdge(id: id, lat: rng.next(170) - 85, lon: rng.next(360) - 180, cpu: rng.next(1000),
                   streams: Array(Set((0...rng.next(4)).map { _ in streams[rng.next(streams.count)] })).sorted(),
                   tenant: rng.next(15) == 0 ? "t1" : "", mode: rng.next(20) == 0 ? "draining" : "normal", host: "h\(rng.next(1000))")
    }

    static func plane(_ world: World, _ loop: EventLoop) throws -> ControlPlane {
        let plane = try ControlPlane(config: try world.config, loop: loop, logger: Logger(label: "test"), dataLoops: 1, geo: nil)
        plane.rebuildNow()
        return plane
    }

    /// Every playback ID resolves to the same stream and the same ranked edges (node IDs and
    /// scores) for viewers all over the map, and every edge has the same URLs.
    static func expectSameRouting(_ a: RoutingSnapshot, _ b: RoutingSnapshot, _ world: World, _ what: String) {
        #expect(a.localEdgeCount == b.localEdgeCount, "\(what) edges")
        #expect(a.playback.count == b.playback.count, "\(what) playback records")
        for p in world.playback {
            let x = a.playbackIndex(p.id), y = b.playbackIndex(p.id)
            #expect((x == nil) == (y == nil), "\(what) \(p.id) known")
            guard let x, let y else { continue }
            let sx = a.streamOf(playback: x), sy = b.streamOf(playback: y)
            #expect((sx == nil) == (sy == nil), "\(what) \(p.id) live")
            guard let sx, let sy else { continue }
            for v in 0..<6 {
                let viewer = GeoPoint(lat: Double(v * 29 - 80), lon: Double(v * 61 - 170))
                let tx = Scorer.top(a, ScoringRequest(stream: sx, tenant: a.tenantOf(playback: x), viewer: viewer))
                let ty = Scorer.top(b, ScoringRequest(stream: sy, tenant: b.tenantOf(playback: y), viewer: viewer))
                #expect(tx.count == ty.count, "\(what) \(p.id) candidates")
                for k in 0..<min(tx.count, ty.count) {
                    #expect(a.nodeIds[tx[k].edge] == b.nodeIds[ty[k].edge] && tx[k].score == ty[k].score, "\(what) \(p.id) rank \(k)")
                }
                #expect(tx.excluded[Int(Exclusion.tenantMismatch.rawValue)] == ty.excluded[Int(Exclusion.tenantMismatch.rawValue)],
                        "\(what) \(p.id) tenant exclusions")
            }
        }
        for i in 0..<min(a.localEdgeCount, b.localEdgeCount) {
            guard let j = b.edgeIndex(nodeId: a.nodeIds[i]) else { Issue.record("\(what): \(a.nodeIds[i]) missing"); continue }
            #expect(a.url(edge: i, proto: .hls) == b.url(edge: j, proto: .hls) && a.exclusion(edge: i) == b.exclusion(edge: j)
                        && a.edges[i].tenant == b.edges[j].tenant && a.edges[i].mode == b.edges[j].mode, "\(what) \(a.nodeIds[i])")
        }
    }

    @Test func reloadsApplyOnlyWhatChangedWithoutAFullBuild() throws {
        let loop = EventLoop(name: "control-test")
        defer { loop.start(); loop.stop(); loop.join() }
        var rng = LCG(state: 20261129)
        var world = World(edges: (0..<240).map { Self.randomEdge("e\(1000 + $0 * 3)", &rng) },
                          playback: Self.streams.enumerated().map { (id: "pb\($0.offset)", stream: $0.element, tenant: $0.offset % 5 == 0 ? "t1" : "") })
        world.playback.append((id: "pb-offline", stream: "rl+none", tenant: ""))
        let plane = try Self.plane(world, loop)
        #expect(plane.builds.full == 1)
        var nextId = 0

        for round in 0..<6 {
            switch round {
            case 3:
                world.weightGeo = 300  // only the weights
            case 4:
                world.edges.remove(at: rng.next(world.edges.count))  // only an edge gone
            case 5:
                break  // the same file again
            default:
                // Edges gone, new ones (some between existing IDs), changed ones of every kind.
                for _ in 0..<8 { world.edges.remove(at: rng.next(world.edges.count)) }
                for _ in 0..<8 {
                    nextId += 1
                    world.edges.append(Self.randomEdge("e\(1000 + rng.next(800) * 3 + 1)-\(nextId)", &rng))
                }
                for _ in 0..<25 {
                    let k = rng.next(world.edges.count)
                    switch rng.next(6) {
                    case 0: world.edges[k].cpu = rng.next(1000)
                    case 1: world.edges[k].streams = Self.randomEdge("x", &rng).streams
                    case 2: world.edges[k].lat = rng.next(170) - 85
                    case 3: world.edges[k].tenant = world.edges[k].tenant.isEmpty ? "t1" : ""
                    case 4: world.edges[k].mode = world.edges[k].mode == "normal" ? "maintenance" : "normal"
                    default: world.edges[k].host = "moved\(round)"
                    }
                }
                // Playback: one record gone, one re-pointed, one new.
                world.playback.remove(at: rng.next(world.playback.count))
                let k = rng.next(world.playback.count)
                world.playback[k].stream = Self.streams[rng.next(Self.streams.count)]
                world.playback.append((id: "pb-new\(round)", stream: Self.streams[rng.next(Self.streams.count)], tenant: round == 1 ? "t1" : ""))
            }
            let incremental = plane.builds.incremental, refreshes = plane.builds.loadRefreshes, pendingOnly = plane.builds.pendingRefreshes
            _ = try plane.reload(try world.config)
            plane.rebuildNow()
            #expect(plane.builds.full == 1, "round \(round): no full build")
            if round == 5 {
                #expect(plane.builds.incremental == incremental && plane.builds.loadRefreshes == refreshes, "an unchanged file builds nothing")
                #expect(plane.builds.pendingRefreshes == pendingOnly + 1, "only the (empty) refresh the test forced")
            } else {
                #expect(plane.builds.incremental > incremental, "round \(round) was built incrementally")
            }
            let fresh = try Self.plane(world, loop)
            #expect(plane.weights == fresh.weights)
            Self.expectSameRouting(plane.publisher.snapshot, fresh.publisher.snapshot, world, "round \(round)")
        }
    }
}
