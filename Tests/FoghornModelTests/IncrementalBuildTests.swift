import FoghornTestSupport
import Foundation
import Testing
@testable import FoghornModel
import FoghornModelFixtures

/// Incremental builds (edges starting or stopping streams, and load changes with them) against
/// a full build of the same edges: same streams, candidates, per-stream figures, playback
/// resolution, decisions, scores and exclusions — also several builds in a row, and with the
/// snapshots they derive from still answering as before.
@Suite struct IncrementalBuildTests {
    /// Streams every round may use; "inc+big" is carried by most edges (trees at > 256), "inc+mid"
    /// by about a third (flat blocks), the rest by few (linear).
    static let pool = ["inc+big", "inc+mid", "inc+a", "inc+b", "inc+c"]

    static func randomStreams(_ rng: inout SplitMix, fresh: [String]) -> [String: EdgeStreamStats] {
        var streams: [String: EdgeStreamStats] = [:]
        if rng.next() % 8 != 0 { streams["inc+big"] = LoadRefreshTests.randomStats(&rng, inputs: rng.next() % 6 != 0) }
        if rng.next() % 3 == 0 { streams["inc+mid"] = LoadRefreshTests.randomStats(&rng, inputs: true) }
        for name in pool.dropFirst(2) where rng.next() % 19 == 0 { streams[name] = LoadRefreshTests.randomStats(&rng, inputs: rng.next() % 2 == 0) }
        for name in fresh where rng.next() % 7 == 0 { streams[name] = LoadRefreshTests.randomStats(&rng, inputs: true) }
        return streams
    }

    /// Every stream `names` could name resolves alike in `a` (incremental) and `b` (full).
    static func expectEqual(_ a: RoutingSnapshot, _ b: RoutingSnapshot, names: [String], _ rng: inout SplitMix, _ what: String) {
        #expect(a.liveStreamCount == b.streams.count, "\(what) stream count")
        for name in names {
            let x = a.streamIndex(named: name), y = b.streamIndex(named: name)
            #expect((x == nil) == (y == nil), "\(what) \(name) present")
            guard let x, let y else { continue }
            #expect(a.streamName(x) == name && b.streamName(y) == name)
            #expect(a.streams[x].totalViewers == b.streams[y].totalViewers, "\(what) \(name) viewers")
            #expect(a.streams[x].perViewerBytesPerSec == b.streams[y].perViewerBytesPerSec && a.perViewerByStream[x] == b.perViewerByStream[y],
                    "\(what) \(name) per viewer")
            #expect(a.streams[x].nameHash == b.streams[y].nameHash)
            let ca = a.candidates(of: x), cb = b.candidates(of: y)
            #expect(Array(ca.edges) == Array(cb.edges) && Array(ca.inputs) == Array(cb.inputs), "\(what) \(name) columns")
            #expect((0..<ca.count).map { ca.hasViewers($0) } == (0..<cb.count).map { cb.hasViewers($0) }, "\(what) \(name) viewer bits")
            #expect(a.index.isFlat(stream: x) == b.index.isFlat(stream: y) && (a.index.roots[x] < 0) == (b.index.roots[y] < 0), "\(what) \(name) layout")
            for t in 0..<4 {
                // Half the requests prefer a tag (the incremental build may have added its bit).
                let adjust = TagAdjustment(rules: t % 2 == 0 ? [] : [TagAdjustment.Rule(tags: ["tag\(t / 2)"], inverted: false, amount: 300)])
                // A quarter of them for tenant "t1" (whose reserved edges only its viewers get).
                let tenant = t == 3 ? "t1" : ""
                let ta = a.tenantTable.index(of: tenant) ?? -1, tb = b.tenantTable.index(of: tenant) ?? -1
                let r = ScoringRequest(stream: x, tenant: ta, viewer: randomViewer(&rng), tags: a.compile(adjust))
                let tx = Scorer.top(a, r), ty = Scorer.top(b, ScoringRequest(stream: y, tenant: tb, viewer: r.viewer, tags: b.compile(adjust)))
                #expect(tx.count == ty.count, "\(what) \(name)")
                for k in 0..<min(tx.count, ty.count) {
                    #expect(tx[k].edge == ty[k].edge && tx[k].score == ty[k].score, "\(what) \(name) rank \(k)")
                }
                for reason in CandidateIndexTests.staticReasons + [.tenantMismatch] {
                    #expect(tx.excluded[Int(reason.rawValue)] == ty.excluded[Int(reason.rawValue)], "\(what) \(name) \(reason)")
                }
            }
        }
        #expect(a.edgeCount == b.edgeCount)
        for i in 0..<min(a.edgeCount, b.edgeCount) {
            #expect(a.edgeTable.urls[i] == b.edgeTable.urls[i] && a.exclusion(edge: i) == b.exclusion(edge: i) && a.geoPoint(edge: i) == b.geoPoint(edge: i),
                    "\(what) edge \(i)")
        }
        #expect(a.playback.count == b.playback.count)
        for p in 0..<a.playback.count {
            let x = a.streamOf(playback: p), y = b.streamOf(playback: p)
            #expect((x == nil) == (y == nil), "\(what) playback \(a.playback[p].playbackId)")
            if let x, let y { #expect(a.streamName(x) == b.streamName(y)) }
        }
    }

    /// `a` routes every stream either snapshot has like `b` (``expectEqual``).
    static func expectSameRouting(_ a: RoutingSnapshot, _ b: RoutingSnapshot, _ what: String = "") {
        var rng = SplitMix(seed: 1)
        var names = Set<String>()
        for i in 0..<a.streams.count { names.insert(a.streamName(i)) }
        for i in 0..<b.streams.count { names.insert(b.streamName(i)) }
        expectEqual(a, b, names: names.sorted(), &rng, what)
    }

    @Test func incrementalBuildsEqualAFullBuild() {
        var rng = SplitMix(seed: 20261129)
        let now: UInt64 = 10_000_000
        var incremental = 0, appeared = 0, emptied = 0
        for round in 0..<40 {
            // Streams that do not exist yet and appear in later steps; playback IDs for them already.
            let fresh = (0..<3).map { "inc+r\(round)x\($0)" }
            var store = PlaybackStore(names: fixtureNames)
            for name in Self.pool + fresh { store.set(PlaybackRecord(playbackId: "pb-\(name)", stream: name)) }
            let n = Int(rng.next() % 400) + 2
            var edges: [EdgeState] = (0..<n).map { i in
                let positioned = rng.next() % 8 != 0
                return edge("e\(String(format: "%04d", i))", cpu: rng.next() % 1000, ramUsed: rng.next() % 1000, ramMax: rng.next() % 15 == 0 ? 0 : 1000,
                            up: rng.next() % 90_000_000, limit: 100_000_000,
                            lat: positioned ? Double(rng.next() % 170) - 85 : .nan, lon: positioned ? Double(rng.next() % 360) - 180 : .nan,
                            streams: Self.randomStreams(&rng, fresh: []), tenant: rng.next() % 60 == 0 ? "t1" : "",
                            mode: rng.next() % 25 == 0 ? .draining : .normal)
            }
            let playback = store.records, ids = store.streamIds
            var previous = RoutingSnapshot(.init(generation: 1, nowMs: now, weights: .defaults, staleness: StalenessPolicy(), edges: edges,
                                                 playback: playback, playbackStreamIds: ids, names: fixtureNames))
            let first = previous, firstEdges = edges
            for step in 0..<5 {
                var changed: [(index: Int, edge: EdgeState)] = []
                if step >= 3 {
                    // One edge alone moves (step 3) or becomes reserved for a tenant or shared again
                    // (step 4): its streams' candidates stay the same, their index must not.
                    let i = Int(rng.next() % UInt64(n))
                    var e = edges[i]
                    if step == 3 { e.lat = Double(rng.next() % 170) - 85; e.lon = Double(rng.next() % 360) - 180 } else { e.tenant = e.tenant.isEmpty ? "t1" : "" }
                    edges[i] = e
                    changed.append((i, e))
                }
                for i in 0..<n where step < 3 && rng.next() % 9 == 0 {
                    var e = edges[i]
                    switch rng.next() % 9 {
                    case 0: e.streams = [:]  // stopped everything
                    case 1: e.streams = Self.randomStreams(&rng, fresh: fresh)
                    case 2:  // one stream more or fewer
                        var s = e.streams
                        if let k = s.keys.sorted().first, rng.next() % 2 == 0 { s[k] = nil } else { s[fresh[Int(rng.next() % 3)]] = LoadRefreshTests.randomStats(&rng, inputs: true) }
                        e.streams = s
                    case 3:  // moved, or lost its position
                        if rng.next() % 4 == 0 { e.lat = .nan; e.lon = .nan } else { e.lat = Double(rng.next() % 170) - 85; e.lon = Double(rng.next() % 360) - 180 }
                    case 4: e.mode = [.normal, .draining, .maintenance][Int(rng.next() % 3)]
                    case 5: e.tags = rng.next() % 2 == 0 ? [] : ["tag\(rng.next() % 3)"]
                    case 6: e.tenant = rng.next() % 2 == 0 ? "" : "t\(rng.next() % 2 + 1)"
                    case 7: e.baseURL = "https://moved-\(rng.next() % 100).example/"; e.resolveURLs()
                    default:  // load only
                        e.cpuPermille = rng.next() % 1000
                        e.upBytesPerSec = rng.next() % 100_000_000
                    }
                    #expect(RoutingSnapshot.canRestructure(from: edges[i], to: e))
                    edges[i] = e
                    changed.append((i, e))
                }
                if step == 2 {
                    // A stream ends: every edge still carrying it drops it.
                    for i in 0..<n where edges[i].streams[fresh[0]] != nil {
                        var e = edges[i]
                        var s = e.streams
                        s[fresh[0]] = nil
                        e.streams = s
                        edges[i] = e
                        if let k = changed.firstIndex(where: { $0.index == i }) { changed[k].edge = e } else { changed.append((i, e)) }
                    }
                }
                var pending = [UInt64](repeating: 0, count: n)
                for i in 0..<n where rng.next() % 5 == 0 { pending[i] = rng.next() % 5_000_000 }
                guard let next = RoutingSnapshot.restructured(previous, pending: pending, changedEdges: changed, playback: playback,
                                                              playbackStreamIds: ids, generation: UInt64(2 + step), nowMs: now, appliedShipments: [])
                else { Issue.record("round \(round) step \(step): no incremental build"); break }
                incremental += 1
                var withPending = edges
                for i in 0..<n { withPending[i].addPending(pending[i]) }
                let full = RoutingSnapshot(.init(generation: UInt64(2 + step), nowMs: now, weights: .defaults, staleness: StalenessPolicy(),
                                                 edges: withPending, playback: playback, names: fixtureNames))
                for name in Self.pool + fresh {
                    let was = previous.streamIndex(named: name) != nil, now = next.streamIndex(named: name) != nil
                    if !was && now { appeared += 1 }
                    if was && !now { emptied += 1 }
                }
                Self.expectEqual(next, full, names: Self.pool + fresh, &rng, "round \(round) step \(step)")
                #expect(next.structureToken == previous.structureToken && next.edgeCount == n)
                previous = next
            }
            // The first snapshot shares its columns with its successors: it still answers as it did.
            let original = RoutingSnapshot(.init(generation: 1, nowMs: now, weights: .defaults, staleness: StalenessPolicy(), edges: firstEdges, playback: playback, names: fixtureNames))
            Self.expectEqual(first, original, names: Self.pool + fresh, &rng, "round \(round) first snapshot after its successors")
        }
        #expect(incremental == 200)
        #expect(appeared > 20 && emptied > 5, "appeared \(appeared), emptied \(emptied)")
    }

    /// Edges added and removed (with others changed) renumber the edges incrementally
    /// (`reindexed`): the result equals a full build over the new edge list, several times in a
    /// row, mixed with same-index incremental builds, and the snapshots before still answer as before.
    @Test func addingAndRemovingEdgesEqualsAFullBuild() {
        var rng = SplitMix(seed: 424242)
        let now: UInt64 = 10_000_000
        var reindexed = 0
        for round in 0..<30 {
            let fresh = (0..<3).map { "inc+q\(round)x\($0)" }
            var store = PlaybackStore(names: fixtureNames)
            for name in Self.pool + fresh { store.set(PlaybackRecord(playbackId: "pb-\(name)", stream: name)) }
            func randomEdge(_ id: String) -> EdgeState {
                let positioned = rng.next() % 8 != 0
                return edge(id, cpu: rng.next() % 1000, ramUsed: rng.next() % 1000, ramMax: rng.next() % 15 == 0 ? 0 : 1000,
                            up: rng.next() % 90_000_000, limit: 100_000_000,
                            lat: positioned ? Double(rng.next() % 170) - 85 : .nan, lon: positioned ? Double(rng.next() % 360) - 180 : .nan,
                            streams: Self.randomStreams(&rng, fresh: fresh), tenant: rng.next() % 60 == 0 ? "t1" : "",
                            mode: rng.next() % 25 == 0 ? .draining : .normal)
            }
            var edges = (0..<(Int(rng.next() % 350) + 2)).map { randomEdge("e\(String(format: "%05d", $0 * 10))") }
            var remote = randomRemoteEdges(&rng, below: 4)
            let playback = store.records, ids = store.streamIds
            func full(_ edges: [EdgeState], _ remote: [EdgeState], pending: [UInt64]) -> RoutingSnapshot {
                var withPending = edges
                for i in 0..<edges.count { withPending[i].addPending(pending[i]) }
                return RoutingSnapshot(.init(generation: 9, nowMs: now, weights: .defaults, staleness: StalenessPolicy(), edges: withPending,
                                             remoteEdges: remote, playback: playback, names: fixtureNames))
            }
            var previous = RoutingSnapshot(.init(generation: 1, nowMs: now, weights: .defaults, staleness: StalenessPolicy(), edges: edges,
                                                 remoteEdges: remote, playback: playback, playbackStreamIds: ids, names: fixtureNames))
            let first = previous, firstEdges = edges, firstRemote = remote
            for step in 0..<4 {
                var changedIds = Set<String>()
                // Remove some, add some between existing node IDs (and at both ends), change some.
                edges = edges.filter { _ in rng.next() % 12 != 0 }
                for _ in 0..<Int(rng.next() % 6) {
                    let k = Int(rng.next() % 100_000)
                    let id = "e\(String(format: "%05d", k))\(step)\(round)"
                    if !edges.contains(where: { $0.nodeId == id }) { edges.append(randomEdge(id)) }
                }
                if step == 2 { edges.append(randomEdge("a-first")); edges.append(randomEdge("z-last")) }
                edges.sort { $0.nodeId < $1.nodeId }
                for i in edges.indices where rng.next() % 10 == 0 {
                    edges[i].streams = Self.randomStreams(&rng, fresh: fresh)
                    if rng.next() % 3 == 0 { edges[i].lat = Double(rng.next() % 170) - 85; edges[i].lon = 7 }
                    changedIds.insert(edges[i].nodeId)
                }
                var pending = [UInt64](repeating: 0, count: edges.count)
                for i in pending.indices where rng.next() % 5 == 0 { pending[i] = rng.next() % 5_000_000 }
                // Half the steps the peers' edges change too: some go, some come, loads move.
                var newRemote: [EdgeState]?
                if rng.next() % 2 == 0 {
                    var r = remote.filter { _ in rng.next() % 3 != 0 }
                    for k in r.indices { r[k].cpuPermille = rng.next() % 1000; r[k].addPending(rng.next() % 2 == 0 ? 0 : rng.next() % 1_000_000) }
                    r += randomRemoteEdges(&rng, below: 3).map { var e = $0; e.nodeId = "s\(step)" + e.nodeId; e.streams = Self.randomStreams(&rng, fresh: fresh); return e }
                    newRemote = r
                    remote = r
                }
                guard let next = RoutingSnapshot.reindexed(previous, localEdges: edges, remoteEdges: newRemote, changedNodeIds: changedIds,
                                                           localPending: pending, playback: playback, playbackStreamIds: ids,
                                                           generation: UInt64(2 + step), nowMs: now, appliedShipments: [])
                else { Issue.record("round \(round) step \(step): no incremental build"); break }
                // The peers' edges keep the pending the previous snapshot had when they did not change.
                let remotePending = newRemote == nil ? Array(previous.pending[previous.localEdgeCount...]) : remote.map(\.pendingBytesPerSec)
                var remoteAsBuilt = remote.sorted { $0.nodeId < $1.nodeId }
                if newRemote == nil { for k in remoteAsBuilt.indices { remoteAsBuilt[k].clearPending(); remoteAsBuilt[k].addPending(remotePending[k]) } }
                reindexed += 1
                #expect(next.structureToken != previous.structureToken && next.localEdgeCount == edges.count)
                #expect(Array(next.nodeIds) == edges.map(\.nodeId) + remoteAsBuilt.map(\.nodeId), "round \(round) step \(step) order")
                #expect(next.nodeIds.indices.allSatisfy { next.edgeIndex(nodeId: next.nodeIds[$0]) == $0 }, "round \(round) step \(step) lookup")
                Self.expectEqual(next, full(edges, remoteAsBuilt, pending: pending), names: Self.pool + fresh, &rng, "round \(round) step \(step)")
                previous = next
            }
            Self.expectEqual(first, full(firstEdges, firstRemote, pending: [UInt64](repeating: 0, count: firstEdges.count)),
                             names: Self.pool + fresh, &rng, "round \(round) first snapshot after its successors")
            // Not ascending: a full build is due.
            #expect(RoutingSnapshot.reindexed(previous, localEdges: edges.reversed(), changedNodeIds: [], localPending: [UInt64](repeating: 0, count: edges.count),
                                              playback: playback, playbackStreamIds: ids, generation: 99, nowMs: now, appliedShipments: []) == nil || edges.count < 2)
        }
        #expect(reindexed == 120)
    }

    /// Playback records set (new, replaced with another stream or tenant) and removed (the store
    /// moves its last record into the hole) patch the snapshot's playback table: every record
    /// resolves as in a full build, removed IDs are unknown, over many rounds in a row.
    @Test func playbackChangesEqualAFullBuild() {
        var rng = SplitMix(seed: 8080)
        let now: UInt64 = 10_000_000
        var edges: [EdgeState] = []
        for i in 0..<120 {
            let lat = Double(i % 170) - 85, lon = Double(i % 360) - 180
            let tenant = i % 40 == 0 ? "t\(i % 3)" : ""
            edges.append(edge("e\(String(format: "%04d", i))", cpu: rng.next() % 1000, limit: 100_000_000, lat: lat, lon: lon,
                              streams: Self.randomStreams(&rng, fresh: []), tenant: tenant))
        }
        let names = Self.pool + ["inc+nobody", "inc+nowhere"]  // the last two: no edge carries them
        var store = PlaybackStore(names: fixtureNames)
        for k in 0..<200 { store.set(PlaybackRecord(playbackId: "p\(k)", stream: names[k % names.count])) }
        var previous = RoutingSnapshot(.init(generation: 1, nowMs: now, weights: .defaults, staleness: StalenessPolicy(), edges: edges,
                                             playback: store.records, playbackStreamIds: store.streamIds, names: fixtureNames))
        var gone: Set<String> = []
        var patched = 0
        for round in 0..<60 {
            var changed = Set<String>()
            for _ in 0..<Int(rng.next() % 12) {
                let id = "p\(rng.next() % 260)"
                if rng.next() % 3 == 0 {
                    if store.remove(id) { changed.insert(id); gone.insert(id) }
                } else {
                    store.set(PlaybackRecord(playbackId: id, stream: names[Int(rng.next() % UInt64(names.count))],
                                             tenant: rng.next() % 5 == 0 ? "t\(rng.next() % 4)" : ""))
                    changed.insert(id)
                    gone.remove(id)
                }
            }
            var positions = Set<Int>()
            for id in changed {
                if let p = previous.playbackIndex(id) { positions.insert(p) }
                if let p = store.index(of: id) { positions.insert(p) }
            }
            guard let next = RoutingSnapshot.updatingPlayback(previous, playback: store.records, playbackStreamIds: store.streamIds,
                                                              positions: positions, generation: UInt64(2 + round), nowMs: now, appliedShipments: [])
            else { previous = RoutingSnapshot(.init(generation: UInt64(2 + round), nowMs: now, weights: .defaults, staleness: StalenessPolicy(),
                                                    edges: edges, playback: store.records, playbackStreamIds: store.streamIds, names: fixtureNames)); continue }
            patched += 1
            let full = RoutingSnapshot(.init(generation: 9, nowMs: now, weights: .defaults, staleness: StalenessPolicy(), edges: edges, playback: store.records, names: fixtureNames))
            for (p, r) in store.records.enumerated() {
                #expect(next.playbackIndex(r.playbackId) == p && full.playbackIndex(r.playbackId) == p, "round \(round) \(r.playbackId)")
                let a = next.streamOf(playback: p), b = full.streamOf(playback: p)
                #expect((a == nil) == (b == nil) && a.map { next.streamName($0) } == b.map { full.streamName($0) }, "round \(round) \(r.playbackId) stream")
                let ta = next.tenantOf(playback: p), tb = full.tenantOf(playback: p)
                #expect((ta < 0 ? "" : next.tenants[Int(ta)]) == (tb < 0 ? "" : full.tenants[Int(tb)]), "round \(round) \(r.playbackId) tenant")
            }
            for id in gone { #expect(next.playbackIndex(id) == nil, "round \(round) \(id) removed") }
            // The edges' side is untouched: same decisions.
            Self.expectEqual(next, full, names: Self.pool, &rng, "round \(round)")
            previous = next
        }
        #expect(patched > 50)
    }

    /// New weights (and GeoIP) recompute the rows and bounds of the same structure: the same
    /// decisions, scores and exclusions as a full build under those weights — trees built under the
    /// old weights still bound exactly.
    @Test func newWeightsEqualAFullBuild() {
        var rng = SplitMix(seed: 777)
        let now: UInt64 = 10_000_000
        for round in 0..<25 {
            var store = PlaybackStore(names: fixtureNames)
            for name in Self.pool { store.set(PlaybackRecord(playbackId: "pb-\(name)", stream: name)) }
            var edges: [EdgeState] = []
            for i in 0..<(Int(rng.next() % 400) + 2) {
                let positioned = rng.next() % 8 != 0
                let lat = positioned ? Double(rng.next() % 170) - 85 : .nan, lon = positioned ? Double(rng.next() % 360) - 180 : .nan
                edges.append(edge("e\(String(format: "%04d", i))", cpu: rng.next() % 1000, ramUsed: rng.next() % 1000, ramMax: 1000,
                                  up: rng.next() % 90_000_000, limit: 100_000_000, lat: lat, lon: lon, streams: Self.randomStreams(&rng, fresh: [])))
            }
            let remote = randomRemoteEdges(&rng, below: 4)
            let s0 = RoutingSnapshot(.init(generation: 1, nowMs: now, weights: .defaults, staleness: StalenessPolicy(), edges: edges,
                                           remoteEdges: remote, playback: store.records, playbackStreamIds: store.streamIds, names: fixtureNames))
            func w() -> UInt64 { rng.next() % 4 == 0 ? 0 : rng.next() % 3000 }
            let weights = ScoringWeights(cpu: w(), ram: w(), bandwidth: w(), geo: w(), streamBonus: rng.next() % 300)
            var pending = [UInt64](repeating: 0, count: s0.edgeCount)
            for i in pending.indices where rng.next() % 4 == 0 { pending[i] = rng.next() % 5_000_000 }
            let next = RoutingSnapshot(reconfiguring: s0, weights: weights, geo: nil, pending: pending, generation: 2, nowMs: now, appliedShipments: [])
            var withPending = edges
            for i in edges.indices { withPending[i].addPending(pending[i]) }
            var remoteWithPending = remote.sorted { $0.nodeId < $1.nodeId }
            for r in remoteWithPending.indices { remoteWithPending[r].addPending(pending[edges.count + r]) }
            let full = RoutingSnapshot(.init(generation: 2, nowMs: now, weights: weights, staleness: StalenessPolicy(), edges: withPending,
                                             remoteEdges: remoteWithPending, playback: store.records, names: fixtureNames))
            #expect(next.weights == weights)
            Self.expectEqual(next, full, names: Self.pool, &rng, "round \(round)")
        }
    }

    /// Incremental builds use the columns' spare room; when it runs out they compact the live
    /// runs into columns of their own (no full build), and every build is right — the snapshots
    /// before a compaction too, which keep the old columns.
    @Test func spareRoomRunsOutIntoACompaction() {
        var rng = SplitMix(seed: 7)
        var store = PlaybackStore(names: fixtureNames)
        store.set(PlaybackRecord(playbackId: "pb", stream: "wide"))
        let n = 600
        var edges = (0..<n).map { i -> EdgeState in
            let viewers: UInt32 = i % 3 == 0 ? 0 : 1
            // "steady" (edges 1…, viewers on two in three) never changes: compactions copy its run.
            var streams = ["wide": EdgeStreamStats(inputs: 1, viewers: viewers)]
            if i > 0 { streams["steady"] = EdgeStreamStats(inputs: i % 5 == 0 ? 0 : 1, viewers: viewers) }
            return edge("e\(String(format: "%04d", i))", up: 1000, limit: 100_000_000, lat: Double(i % 170) - 85, lon: Double(i % 360) - 180,
                        streams: streams)
        }
        let playback = store.records
        var previous = RoutingSnapshot(.init(generation: 1, nowMs: 0, weights: .defaults, staleness: StalenessPolicy(), edges: edges,
                                             playback: playback, playbackStreamIds: store.streamIds, names: fixtureNames))
        #expect(previous.streamTable.columns.capacity - previous.streamTable.columns.used == StreamColumns.spare(for: n))
        var compactedAt: [Int] = []
        var kept: [(snapshot: RoutingSnapshot, full: RoutingSnapshot, step: Int)] = []
        for step in 0..<20 {
            // One edge leaves "wide" for another stream and comes back: "wide" (600 or 599
            // candidates) gets a new run each time.
            let edgesBefore = edges
            var e = edges[0]
            e.streams = step % 2 == 0 ? ["extra\(step)": EdgeStreamStats(inputs: 1)] : ["wide": EdgeStreamStats(inputs: 1, viewers: 1)]
            edges[0] = e
            guard let next = RoutingSnapshot.restructured(previous, pending: [UInt64](repeating: 0, count: n), changedEdges: [(0, e)],
                                                          playback: playback, playbackStreamIds: store.streamIds, generation: UInt64(2 + step),
                                                          nowMs: 0, appliedShipments: [])
            else { Issue.record("step \(step): no incremental build"); break }
            if next.streamTable.columns !== previous.streamTable.columns {
                compactedAt.append(step)
                #expect(next.columnCompactions == previous.columnCompactions + 1)
                // Only the live runs and this build's new one: the spare room is whole again.
                #expect(next.streamTable.columns.used <= 1199 + 63 + 600 && next.streamTable.columns.capacity - next.streamTable.columns.used >= StreamColumns.spare(for: n))
                let fullBefore = RoutingSnapshot(.init(generation: 2, nowMs: 0, weights: .defaults, staleness: StalenessPolicy(),
                                                       edges: edgesBefore, playback: playback, names: fixtureNames))
                kept.append((previous, fullBefore, step - 1))
            } else {
                #expect(next.columnCompactions == previous.columnCompactions)
            }
            #expect(next.streamTable.columns.used <= next.streamTable.columns.capacity)
            let full = RoutingSnapshot(.init(generation: 2, nowMs: 0, weights: .defaults, staleness: StalenessPolicy(), edges: edges, playback: playback, names: fixtureNames))
            Self.expectEqual(next, full, names: ["wide", "steady", "extra\(step)", "extra\(step - 1)"], &rng, "step \(step)")
            previous = next
        }
        // 4,096 spare positions, each build claims 600 at a 64-aligned start: 6 fit, the 7th
        // compacts (1,199 live + 600 new, spare 4,096 again: 7 fit, the 14th compacts again).
        #expect(compactedAt == [6, 13])
        // The snapshots just before each compaction still answer as they did.
        for k in kept {
            Self.expectEqual(k.snapshot, k.full, names: ["wide", "steady", "extra\(k.step)", "extra\(k.step - 1)"], &rng, "before step \(k.step + 1)")
        }
    }

    /// Edges enrolled and removed (renumbering builds) when the spare room is used up compact
    /// too: the renumbered columns keep the spare room's state, and the build that follows
    /// compacts them like any incremental one.
    @Test func renumberingBuildsCompactWhenTheSpareRoomRunsOut() {
        var rng = SplitMix(seed: 99)
        var store = PlaybackStore(names: fixtureNames)
        for name in ["wide", "steady"] { store.set(PlaybackRecord(playbackId: "pb-\(name)", stream: name)) }
        var edges = (0..<600).map { i -> EdgeState in
            var streams = ["wide": EdgeStreamStats(inputs: 1, viewers: UInt32(i % 2))]
            if i % 3 != 0 { streams["steady"] = EdgeStreamStats(inputs: i % 7 == 0 ? 0 : 1, viewers: UInt32(i % 4)) }
            return edge(String(format: "e%04d", i * 2), up: 1000, limit: 100_000_000, lat: Double(i % 170) - 85, lon: Double(i % 360) - 180,
                        streams: streams)
        }
        var previous = RoutingSnapshot(.init(generation: 1, nowMs: 0, weights: .defaults, staleness: StalenessPolicy(), edges: edges,
                                             playback: store.records, playbackStreamIds: store.streamIds, names: fixtureNames))
        var compactions: [Int] = []
        for step in 0..<30 {
            // Every step an edge joins "wide" (a new node ID between the others) or the last one added leaves.
            if step % 2 == 0 {
                let id = String(format: "e%04d", 2 * (step * 37 % 600) + 1)
                edges.append(edge(id, up: 500, limit: 100_000_000, lat: 10, lon: Double(step), streams: ["wide": EdgeStreamStats(inputs: 1, viewers: 1)]))
                edges.sort { $0.nodeId < $1.nodeId }
            } else {
                edges.removeAll { $0.nodeId.hasSuffix("1") }
            }
            guard let next = RoutingSnapshot.reindexed(previous, localEdges: edges, changedNodeIds: [], localPending: [UInt64](repeating: 0, count: edges.count),
                                                       playback: store.records, playbackStreamIds: store.streamIds, generation: UInt64(2 + step),
                                                       nowMs: 0, appliedShipments: [])
            else { Issue.record("step \(step): no incremental build"); break }
            if next.columnCompactions > previous.columnCompactions { compactions.append(step) }
            let full = RoutingSnapshot(.init(generation: 2, nowMs: 0, weights: .defaults, staleness: StalenessPolicy(), edges: edges, playback: store.records, names: fixtureNames))
            Self.expectEqual(next, full, names: ["wide", "steady"], &rng, "step \(step)")
            previous = next
        }
        // 1,000 live candidates, a 4,096 spare: "wide" (600-601) is laid out again each step.
        #expect(compactions.count >= 2, "compactions at \(compactions)")
        #expect(compactions.count < 10, "compactions at \(compactions)")
    }

    /// An edge that keeps moving re-indexes its large streams on every build without using
    /// column room: the index drops the unused blocks and nodes once they outgrow a quarter of
    /// the used ones, and answers as a full build does before and after.
    @Test func updatedIndexesCompactTheirUnusedBlocks() {
        var rng = SplitMix(seed: 11)
        var store = PlaybackStore(names: fixtureNames)
        for name in ["tree", "flat", "small", "still"] { store.set(PlaybackRecord(playbackId: "pb-\(name)", stream: name)) }
        let n = 700
        var edges = (0..<n).map { i -> EdgeState in
            var streams = ["tree": LoadRefreshTests.randomStats(&rng, inputs: i % 7 != 0)]
            if i < 120 { streams["flat"] = LoadRefreshTests.randomStats(&rng, inputs: true) }
            if i < 10 { streams["small"] = LoadRefreshTests.randomStats(&rng, inputs: true) }
            // "still" (a tree) is carried only by edges that never move: compactions copy it.
            if i >= 300 { streams["still"] = LoadRefreshTests.randomStats(&rng, inputs: i % 9 != 0) }
            let lat = Double(rng.next() % 170) - 85, lon = Double(rng.next() % 360) - 180
            return edge("e\(String(format: "%04d", i))", cpu: rng.next() % 1000, up: rng.next() % 1_000_000, limit: 100_000_000,
                        lat: i % 11 == 0 ? .nan : lat, lon: i % 11 == 0 ? .nan : lon, streams: streams)
        }
        var previous = RoutingSnapshot(.init(generation: 1, nowMs: 0, weights: .defaults, staleness: StalenessPolicy(), edges: edges,
                                             playback: store.records, playbackStreamIds: store.streamIds, names: fixtureNames))
        let fullBlocks = previous.index.blockCount, fullNodes = previous.index.nodeCount
        var shrank = 0, largest = 0
        for step in 0..<40 {
            // Edge 0 (in "tree", "flat", "small") and another edge of "tree" move, never one of "still".
            var changed: [(index: Int, edge: EdgeState)] = []
            for i in [0, 1 + Int(rng.next() % 299)] {
                edges[i].lat = Double(rng.next() % 170) - 85
                edges[i].lon = Double(rng.next() % 360) - 180
                changed.append((i, edges[i]))
            }
            guard let next = RoutingSnapshot.restructured(previous, pending: [UInt64](repeating: 0, count: n), changedEdges: changed,
                                                          playback: store.records, playbackStreamIds: store.streamIds,
                                                          generation: UInt64(2 + step), nowMs: 0, appliedShipments: [])
            else { Issue.record("step \(step): no incremental build"); break }
            #expect(next.streamTable.columns === previous.streamTable.columns, "moves use no column room")
            if next.index.blockCount < previous.index.blockCount { shrank += 1 }
            largest = max(largest, next.index.blockCount)
            let full = RoutingSnapshot(.init(generation: 2, nowMs: 0, weights: .defaults, staleness: StalenessPolicy(), edges: edges,
                                             playback: store.records, names: fixtureNames))
            #expect(next.index.blockCount <= fullBlocks * 5 / 4 + CandidateIndex.compactionSlackBlocks + 2 * fullBlocks, "step \(step)")
            Self.expectEqual(next, full, names: ["tree", "flat", "small", "still"], &rng, "step \(step)")
            previous = next
        }
        // Each build lays out "tree" and "flat" again (≈ 205 blocks): the 1,024 unused blocks
        // allowed fill up every five or six builds.
        #expect(shrank >= 5, "compactions \(shrank)")
        #expect(largest <= fullBlocks + CandidateIndex.compactionSlackBlocks + 2 * fullBlocks)
        #expect(previous.index.nodeCount <= 8 * fullNodes, "nodes \(previous.index.nodeCount), full \(fullNodes)")
    }

    /// Any change to an edge the snapshot has is incremental; adding, removing or a peer's edge,
    /// or a playback change, is not.
    @Test func whatTakesAFullBuild() {
        let base = edge("e1", lat: 52, lon: 5, streams: ["s": EdgeStreamStats(inputs: 1, viewers: 3)], tags: ["a"])
        var moved = base; moved.lat = 40
        var drained = base; drained.mode = .draining
        var tagged = base; tagged.tags = ["b"]
        var tenant = base; tenant.tenant = "t"
        var failed = base; failed.pollError = "timeout"
        var relocated = base; relocated.baseURL = "https://elsewhere.example/"; relocated.resolveURLs()
        var streams = base; streams.streams = ["t": EdgeStreamStats(inputs: 0)]
        for (what, e) in [("position", moved), ("mode", drained), ("tags", tagged), ("tenant", tenant), ("poll error", failed),
                          ("urls", relocated), ("streams", streams)] {
            #expect(RoutingSnapshot.canRestructure(from: base, to: e) && !RoutingSnapshot.isLoadOnlyChange(from: base, to: e), "\(what)")
        }
        #expect(!RoutingSnapshot.canRestructure(from: base, to: edge("e2")))
        let peer = PeerEdgeFixture.remote("e1", lat: 1, lon: 2, cpu: 3, available: 4)
        #expect(!RoutingSnapshot.canRestructure(from: peer, to: peer))

        var store = PlaybackStore(names: fixtureNames)
        store.set(PlaybackRecord(playbackId: "p", stream: "s"))
        let s0 = RoutingSnapshot(.init(generation: 1, nowMs: 0, weights: .defaults, staleness: StalenessPolicy(), edges: [base],
                                       playback: store.records, playbackStreamIds: store.streamIds, names: fixtureNames))
        // Another edge at index 0 (the snapshot has no "e2").
        #expect(RoutingSnapshot.restructured(s0, pending: [0], changedEdges: [(0, edge("e2"))], playback: store.records, playbackStreamIds: store.streamIds,
                                             generation: 2, nowMs: 0, appliedShipments: []) == nil)
        // A playback array other than the one the snapshot was built from (a record changed).
        var other = store
        other.set(PlaybackRecord(playbackId: "q", stream: "s"))
        #expect(RoutingSnapshot.restructured(s0, pending: [0], changedEdges: [(0, streams)], playback: other.records, playbackStreamIds: other.streamIds,
                                             generation: 2, nowMs: 0, appliedShipments: []) == nil)
        let ok = RoutingSnapshot.restructured(s0, pending: [0], changedEdges: [(0, streams)], playback: store.records, playbackStreamIds: store.streamIds,
                                              generation: 2, nowMs: 0, appliedShipments: [])
        #expect(ok != nil && ok?.streamIndex(named: "s") == nil && ok?.streamIndex(named: "t") != nil && ok?.streamOf(playback: 0) == nil)
        let drainedSnapshot = RoutingSnapshot.restructured(s0, pending: [0], changedEdges: [(0, drained)], playback: store.records,
                                                           playbackStreamIds: store.streamIds, generation: 2, nowMs: 0, appliedShipments: [])
        #expect(drainedSnapshot?.exclusion(edge: 0) == .draining && s0.exclusion(edge: 0) == nil)
    }
}
