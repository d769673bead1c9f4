#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Per-stream candidate layouts, so a routing decision scores exactly only the candidates that
/// can still enter the top 5:
///
/// - at most ``linearMaxCount`` candidates: nothing (``Scorer`` scores the stream's scoring
///   rows linearly — as few cache lines as entries would be, and at 100,000 such streams the
///   entries alone took 16 MB);
/// - up to ``flatMaxCount``: ``FlatBlock``s, four candidates per cache line, bounded four at a
///   time (``Scorer``'s flat scan, FlatScan.swift, with ``BlockBounder``);
/// - more: a bounding-ball tree. The candidates are split top-down at the middle of their
///   widest dimension — x, y or z of the unit vector, or the score without geo, all measured in
///   score points — (at the median when the middle would leave less than a quarter on one
///   side) into leaves of at most ``leafSize``, so a node holds candidates that are close *and*
///   similarly loaded; position-less candidates get their own subtree. A node knows a centre
///   `c` and a radius `r` (radians) that contain its members, so for a viewer `v` every member
///   is at least `acos(v·c) − r` away and its geo term is at most
///   ``geoBound(weight:approximateAngle:radius:)``. Together with the
/// node's best non-geo part (``IndexBounds``: computed without pending with each full
/// snapshot, so it stays an upper bound through pending-only refreshes) that bounds every
/// member's score; a node whose bound is below the current 5th best is skipped whole.
///
/// Worked example (weights 500/500/1000/1000/50): the 5th best so far scores 2,700; a node
/// 60° (1.047 rad) from the viewer with radius 10° (0.175 rad) bounds geo by 724; its
/// members' best cpu+ram+bw+bonus is 1,900, so the node is worth at most 2,624 < 2,700: none
/// of its members is looked at.
///
/// The structure depends only on which edges carry which stream and where they are; it is
/// built with a full snapshot and shared by its pending-only refreshes.
public final class CandidateIndex: @unchecked Sendable {
    /// A ball of `count` candidates; a leaf's are in ``blocks`` from block `start` (⌈count/4⌉
    /// blocks, the last padded). `left`/`right` are child node indices (-1 for a leaf).
    /// `radius < 0`: no member has a position.
    struct Node {
        var cx: Double
        var cy: Double
        var cz: Double
        var radius: Double
        var start: Int32
        var count: Int32
        var left: Int32
        var right: Int32
    }

    /// Candidates per leaf (trees only: streams of more than ``flatMaxCount``). A leaf's members
    /// are bounded four at a time (``FlatBlock``s, as the flat scan), so a leaf of 32 costs eight
    /// block bounds; the node above it a heap step and a ball bound. 32 measured fewest
    /// instructions per request of 16, 32 and 64 (docs/PERFORMANCE.md, "Measurements behind
    /// constants").
    public static let leafSize = 32
    /// A stream with at most this many candidates is not indexed (scored linearly).
    public static let linearMaxCount = 16
    /// A stream with more than ``linearMaxCount`` and at most this many candidates has no
    /// tree either: its candidates are stored as ``FlatBlock``s and ``Scorer`` bounds all of
    /// them four at a time (SIMD), then scores exactly the few that can enter the top 5. A
    /// tree walk pays a bound per node, a heap and a hard-to-predict branch per decision,
    /// which at a hundred candidates costs more than the bounds it saves.
    public static let flatMaxCount = 256

    /// Four candidates, one cache line: unit vectors (Float: bounds add the rounding error,
    /// ``floatAngleError``) and edge indices (`~edge` without inputs, ``FlatBlock/padding`` in
    /// unused lanes). A flat stream is a run of blocks; a tree's leaves are too, so both are
    /// bounded four lanes at a time.
    struct FlatBlock {
        var x: SIMD4<Float>
        var y: SIMD4<Float>
        var z: SIMD4<Float>
        var edge: SIMD4<Int32>
        /// An unused lane (never an edge index, nor the complement of one).
        static let padding = Int32.min
        static let empty = FlatBlock(x: .zero, y: .zero, z: .zero, edge: SIMD4(repeating: padding))

        /// Appends candidate `k` of a run (`k % 4` is its lane; a new block at lane 0) to `list`:
        /// `edge`, complemented when it has no inputs; its position when it has one (else the zero
        /// vector, whose bound W/2 is above a position-less candidate's geo term of 0).
        static func append(_ k: Int, edge: Int32, hasInputs: Bool, position: (Double, Double, Double)?, to list: inout [FlatBlock]) {
            let lane = k % 4
            if lane == 0 { list.append(.empty) }
            let last = list.count - 1
            if let (x, y, z) = position {
                list[last].x[lane] = Float(x)
                list[last].y[lane] = Float(y)
                list[last].z[lane] = Float(z)
            }
            list[last].edge[lane] = hasInputs ? edge : ~edge
        }
    }

    let nodes: UnsafeMutableBufferPointer<Node>
    /// Root node per stream (-1: no tree — a linear or a flat stream).
    let roots: UnsafeMutableBufferPointer<Int32>
    /// A stream's run in ``blocks``: a flat stream's candidates, or a tree's leaves one after
    /// another; empty for a linear stream.
    struct BlockRange { var start: Int32; var end: Int32 }
    /// Per stream, its run in ``blocks``. Runs are back to back after a full build; an
    /// incremental one (``init(updating:streams:rebuilt:columns:hot:edgeCount:weights:baseScore:)``)
    /// appends the rebuilt streams' runs and leaves their old ones unused.
    let blockRanges: UnsafeMutableBufferPointer<BlockRange>
    let blocks: UnsafeMutableBufferPointer<FlatBlock>
    /// Blocks in use (``blocks`` has at least one slot, even when there are none).
    let blockCount: Int
    /// Streams carried by an edge reserved for a tenant: scored by the linear path.
    let tenantRestricted: UnsafeMutableBufferPointer<Bool>
    public var nodeCount: Int { nodes.count }

    /// Whether `stream` is stored as ``FlatBlock``s.
    @inline(__always) func isFlat(stream: Int) -> Bool {
        let r = blockRanges[stream]
        return roots[stream] < 0 && r.end > r.start
    }
    /// Edges of the snapshot the index was built for.
    let edgeCount: Int
    /// Streams (slots) it lays out.
    let streamCount: Int

    /// One candidate while building: position, non-geo score at build time, slot in the stream.
    private struct Item {
        /// x, y, z of the unit vector and the base score.
        var c: SIMD4<Double>
        var k: Int32
        var x: Double { c.x }
        var y: Double { c.y }
        var z: Double { c.z }
    }

    @inline(__always) static func isTree(_ count: Int32) -> Bool { count > CandidateIndex.flatMaxCount }

    /// Nodes a tree over `count` candidates can take at most. Splits happen only above leafSize
    /// and leave at least a quarter on each side, so a leaf has ≥ m = ⌊(leafSize + 1) / 4⌋
    /// members (4): ≤ n/m + 1 leaves per part (positioned, position-less), < 2 nodes per leaf,
    /// +1 for the mixed root — ≤ 2·(n/m + 2) + 1 nodes, reserved as such (the surplus is given
    /// back after the build).
    static func nodeEstimate(_ count: Int32) -> Int {
        isTree(count) ? 2 * (Int(count) / ((leafSize + 1) / 4) + 2) + 1 : 0
    }

    /// Builds every stream's tree. `baseScore(edge)` is the candidate's score without the geo
    /// term at build time: nodes then group candidates that are close *and* similarly loaded
    /// (the bounds stay exact when loads change later; only how much they prune depends on it).
    convenience init(streams: [StreamEntry], columns: StreamColumns, hot: UnsafeMutableBufferPointer<EdgeHot>, edgeCount: Int, weights: ScoringWeights, baseScore: (Int) -> Int64) {
        var nodeCapacity = 0
        for s in streams { nodeCapacity += CandidateIndex.nodeEstimate(s.candidateCount) }
        var layout = Layout(blocks: [], nodes: .allocate(capacity: max(nodeCapacity, 1)), nodeCount: 0, streamCount: streams.count, weights: weights)
        streams.withUnsafeBufferPointer { entries in
            // In place: a StreamEntry copy would retain and release its name (100,000 times at that many streams).
            for si in 0..<entries.count {
                let entry = entries.baseAddress.unsafelyUnwrapped + si
                layout.add(stream: si, start: Int(entry.pointee.candidateStart), count: Int(entry.pointee.candidateCount), columns: columns, hot: hot, baseScore: baseScore)
            }
        }
        self.init(layout, edgeCount: edgeCount)
    }

    /// The index of `previous`'s snapshot after the streams `rebuilt` (slots; new slots are
    /// appended, so `streams.count` may be larger) changed candidates: every other stream's
    /// blocks and nodes are copied as they were (same positions), the rebuilt ones' are built
    /// again and appended — their old ones stay, unused. When the unused blocks outgrow a
    /// quarter of the used ones (and ``compactionSlackBlocks``), the copy keeps only the used
    /// ones instead (each tree's nodes moved with their blocks), so an index updated forever —
    /// edges moving, streams changing hands — stays the size of a full build's. Same decisions
    /// as a full build over the same candidates (LoadRefreshTests, IncrementalBuildTests).
    convenience init(updating previous: CandidateIndex, streams: [StreamEntry], rebuilt: [Int], columns: StreamColumns,
                     hot: UnsafeMutableBufferPointer<EdgeHot>, edgeCount: Int, weights: ScoringWeights, baseScore: (Int) -> Int64) {
        let kept = min(previous.streamCount, streams.count)
        var isRebuilt = [Bool](repeating: false, count: streams.count)
        for si in rebuilt { isRebuilt[si] = true }
        var liveBlocks = 0
        for si in 0..<kept where !isRebuilt[si] { liveBlocks += Int(previous.blockRanges[si].end - previous.blockRanges[si].start) }
        let compact = previous.blockCount - liveBlocks > max(liveBlocks / 4, CandidateIndex.compactionSlackBlocks)
        var nodeCapacity = previous.nodes.count
        for si in rebuilt { nodeCapacity += CandidateIndex.nodeEstimate(streams[si].candidateCount) }
        let nodes = UnsafeMutableBufferPointer<Node>.allocate(capacity: max(nodeCapacity, 1))
        var blocks: [FlatBlock] = []
        blocks.reserveCapacity((compact ? liveBlocks : previous.blockCount) + rebuilt.count * 4)
        if !compact {
            if previous.nodes.count > 0 { _ = nodes.initialize(fromContentsOf: previous.nodes) }
            blocks.append(contentsOf: UnsafeBufferPointer(rebasing: previous.blocks[0..<previous.blockCount]))
        }
        var layout = Layout(blocks: blocks, nodes: nodes, nodeCount: compact ? 0 : previous.nodes.count, streamCount: streams.count, weights: weights)
        for si in 0..<streams.count {
            guard si < kept else {
                layout.roots[si] = -1
                layout.blockRanges[si] = BlockRange(start: 0, end: 0)
                layout.tenantRestricted[si] = false
                continue
            }
            layout.tenantRestricted[si] = previous.tenantRestricted[si]
            guard compact else {
                layout.roots[si] = previous.roots[si]
                layout.blockRanges[si] = previous.blockRanges[si]
                continue
            }
            guard !isRebuilt[si] else { continue }  // laid out below
            // The stream's blocks, then its tree's nodes (a tree's nodes are contiguous, its root
            // the last: children are built before their parent), shifted to their new places.
            let r = previous.blockRanges[si]
            let newStart = Int32(layout.blocks.count)
            layout.blocks.append(contentsOf: UnsafeBufferPointer(rebasing: previous.blocks[Int(r.start)..<Int(r.end)]))
            layout.blockRanges[si] = BlockRange(start: newStart, end: newStart + (r.end - r.start))
            let root = previous.roots[si]
            layout.roots[si] = -1
            guard root >= 0 else { continue }
            let first = Int(root) - previous.treeSize(root) + 1
            let nodeShift = Int32(layout.nodeCount - first), blockShift = newStart - r.start
            for k in first...Int(root) {
                var node = previous.nodes[k]
                node.start += blockShift
                if node.left >= 0 { node.left += nodeShift; node.right += nodeShift }
                layout.nodes[layout.nodeCount] = node
                layout.nodeCount += 1
            }
            layout.roots[si] = root + nodeShift
        }
        for si in rebuilt {
            layout.add(stream: si, start: Int(streams[si].candidateStart), count: Int(streams[si].candidateCount), columns: columns, hot: hot, baseScore: baseScore)
        }
        self.init(layout, edgeCount: edgeCount)
    }

    /// Unused blocks an updated index keeps before it compacts, however few the used ones (64 bytes each: 64 KiB).
    static let compactionSlackBlocks = 1024

    /// Nodes in the tree under `root` (an explicit stack: no recursion).
    func treeSize(_ root: Int32) -> Int {
        var stack: [Int32] = [root]
        var size = 0, lowest = root
        while let n = stack.popLast() {
            size += 1
            lowest = min(lowest, n)
            let node = nodes[Int(n)]
            if node.left >= 0 { stack.append(node.left); stack.append(node.right) }
        }
        assert(Int(lowest) == Int(root) - size + 1, "a tree's nodes are contiguous and its root is the last")
        return size
    }

    /// `previous` with every candidate's edge index `e` replaced by `newOfOld[e]` — a removed
    /// edge's lane becomes padding (only streams laid out again next, or unused runs, hold one);
    /// nodes, runs and roots as they were. Edge order is kept, so every bound stays valid.
    convenience init(renumbering previous: CandidateIndex, newOfOld: [Int32], edgeCount: Int) {
        let nodes = UnsafeMutableBufferPointer<Node>.allocate(capacity: max(previous.nodes.count, 1))
        if previous.nodes.count > 0 { _ = nodes.initialize(fromContentsOf: previous.nodes) }
        var blocks: [FlatBlock] = []
        blocks.reserveCapacity(previous.blockCount)
        newOfOld.withUnsafeBufferPointer { map in
            for b in 0..<previous.blockCount {
                var block = previous.blocks[b]
                for lane in 0..<4 {
                    let e = block.edge[lane]
                    guard e != FlatBlock.padding else { continue }
                    let old = Int(CandidateIndex.edge(e))
                    let mapped = old < map.count ? map[old] : -1
                    block.edge[lane] = mapped < 0 ? FlatBlock.padding : (e < 0 ? ~mapped : mapped)
                }
                blocks.append(block)
            }
        }
        let layout = Layout(blocks: blocks, nodes: nodes, nodeCount: previous.nodes.count, streamCount: previous.streamCount,
                            pointsPerUnit: 0)
        for si in 0..<previous.streamCount {
            layout.roots[si] = previous.roots[si]
            layout.blockRanges[si] = previous.blockRanges[si]
            layout.tenantRestricted[si] = previous.tenantRestricted[si]
        }
        self.init(layout, edgeCount: edgeCount)
    }

    private init(_ layout: Layout, edgeCount: Int) {
        var built = layout.nodes
        let nodeCount = layout.nodeCount
        if nodeCount < built.count {
            // Give back what the estimate over-reserved.
            let exact = UnsafeMutableBufferPointer<Node>.allocate(capacity: max(nodeCount, 1))
            if nodeCount > 0 { _ = exact.initialize(fromContentsOf: built[0..<nodeCount]) }
            built.deallocate()
            built = exact
        }
        let blocks = UnsafeMutableBufferPointer<FlatBlock>.allocate(capacity: max(layout.blocks.count, 1))
        if !layout.blocks.isEmpty { _ = blocks.initialize(fromContentsOf: layout.blocks) }
        self.edgeCount = edgeCount
        self.streamCount = layout.streamCount
        self.blockCount = layout.blocks.count
        self.blocks = blocks
        self.blockRanges = layout.blockRanges
        self.roots = layout.roots
        self.tenantRestricted = layout.tenantRestricted
        nodes = UnsafeMutableBufferPointer(rebasing: built[0..<nodeCount])
        storage = built
    }

    /// What a build collects: blocks (copied once into an exact allocation at the end), nodes
    /// (reserved by estimate) and the per-stream columns.
    private struct Layout {
        var blocks: [FlatBlock]
        var nodes: UnsafeMutableBufferPointer<Node>
        var nodeCount: Int
        let roots: UnsafeMutableBufferPointer<Int32>
        let blockRanges: UnsafeMutableBufferPointer<BlockRange>
        let tenantRestricted: UnsafeMutableBufferPointer<Bool>
        let streamCount: Int
        /// Score points per unit of a unit-vector coordinate: a spread of 2 (−1…1) is ≈ π radians ≈ W points.
        let pointsPerUnit: Double
        var items: [Item] = []
        var noGeo: [Item] = []

        init(blocks: [FlatBlock], nodes: UnsafeMutableBufferPointer<Node>, nodeCount: Int, streamCount: Int, weights: ScoringWeights) {
            self.init(blocks: blocks, nodes: nodes, nodeCount: nodeCount, streamCount: streamCount, pointsPerUnit: Double(weights.geo) / 2)
        }

        init(blocks: [FlatBlock], nodes: UnsafeMutableBufferPointer<Node>, nodeCount: Int, streamCount: Int, pointsPerUnit: Double) {
            self.blocks = blocks
            self.nodes = nodes
            self.nodeCount = nodeCount
            self.streamCount = streamCount
            roots = .allocate(capacity: max(streamCount, 1))
            blockRanges = .allocate(capacity: max(streamCount, 1))
            tenantRestricted = .allocate(capacity: max(streamCount, 1))
            self.pointsPerUnit = pointsPerUnit
        }

        /// Lays out stream `si` (its blocks, and its tree if it is large) at the end.
        mutating func add(stream si: Int, start: Int, count: Int, columns: StreamColumns, hot: UnsafeMutableBufferPointer<EdgeHot>, baseScore: (Int) -> Int64) {
            tenantRestricted[si] = false
            roots[si] = -1
            let first = Int32(blocks.count)
            blockRanges[si] = BlockRange(start: first, end: first)
            guard count > CandidateIndex.linearMaxCount else { return }
            let stream = columns.candidates(start: start, count: count)
            if count <= CandidateIndex.flatMaxCount {
                // Edge order, four per block.
                for k in 0..<count {
                    let i = stream.edges[k]
                    let h = hot[Int(i)]
                    if h.tenant >= 0 { tenantRestricted[si] = true }
                    FlatBlock.append(k, edge: i, hasInputs: stream.inputs[k] != 0, position: h.geoValid ? (h.ux, h.uy, h.uz) : nil, to: &blocks)
                }
                blockRanges[si].end = Int32(blocks.count)
                return
            }
            items.removeAll(keepingCapacity: true)
            noGeo.removeAll(keepingCapacity: true)
            for k in 0..<stream.edges.count {
                let i = Int(stream.edges[k])
                let h = hot[i]
                if h.tenant >= 0 { tenantRestricted[si] = true }
                let item = Item(c: SIMD4(h.ux, h.uy, h.uz, Double(baseScore(i))), k: Int32(k))
                if h.geoValid { items.append(item) } else { noGeo.append(item) }
            }
            var b = Builder(blocks: blocks, nodes: nodes, nodeCount: nodeCount, pointsPerUnit: pointsPerUnit)
            blocks = []  // the builder appends to it (no copy)
            var root: Int32 = -1
            let edges = stream.edges, inputs = stream.inputs
            if !items.isEmpty { root = items.withUnsafeMutableBufferPointer { b.build($0, 0, $0.count, geo: true, edges: edges, inputs: inputs) } }
            if !noGeo.isEmpty {
                let other = noGeo.withUnsafeMutableBufferPointer { b.build($0, 0, $0.count, geo: false, edges: edges, inputs: inputs) }
                root = root < 0 ? other : CandidateIndex.parent(&b.nodes, &b.nodeCount, root, other)
            }
            blocks = b.blocks
            nodeCount = b.nodeCount
            roots[si] = root
            blockRanges[si].end = Int32(blocks.count)
        }
    }

    /// The recursive top-down build of one stream's tree.
    private struct Builder {
        var blocks: [FlatBlock]
        var nodes: UnsafeMutableBufferPointer<Node>
        var nodeCount: Int
        let pointsPerUnit: Double

        mutating func build(_ list: UnsafeMutableBufferPointer<Item>, _ lo: Int, _ hi: Int, geo: Bool,
                            edges: UnsafeBufferPointer<Int32>, inputs: UnsafeBufferPointer<UInt32>) -> Int32 {
            if hi - lo <= CandidateIndex.leafSize { return leaf(list, lo, hi, geo: geo, edges: edges, inputs: inputs) }
            // Split at the median of the widest dimension, in score points.
            var lower = SIMD4<Double>(repeating: .infinity), upper = SIMD4<Double>(repeating: -.infinity)
            for m in lo..<hi {
                lower = pointwiseMin(lower, list[m].c)
                upper = pointwiseMax(upper, list[m].c)
            }
            let spread = (upper - lower) * SIMD4(pointsPerUnit, pointsPerUnit, pointsPerUnit, 1)
            var axis = 3
            if geo {
                var widest = spread.w
                for a in 0..<3 where spread[a] > widest { axis = a; widest = spread[a] }
            }
            // Split at the middle of that range (one pass; tight balls), unless that leaves less
            // than a quarter on one side: then at the median (depth ≤ log4/3 of the leaves).
            var mid = CandidateIndex.partition(list, lo, hi, axis: axis, below: (lower[axis] + upper[axis]) / 2)
            let quarter = (hi - lo) / 4
            if mid - lo < quarter || hi - mid < quarter {
                mid = (lo + hi) / 2
                CandidateIndex.select(list, lo, hi, mid, axis: axis)
            }
            let left = build(list, lo, mid, geo: geo, edges: edges, inputs: inputs)
            let right = build(list, mid, hi, geo: geo, edges: edges, inputs: inputs)
            return CandidateIndex.parent(&nodes, &nodeCount, left, right)
        }

        mutating func leaf(_ list: UnsafeMutableBufferPointer<Item>, _ lo: Int, _ hi: Int, geo: Bool,
                           edges: UnsafeBufferPointer<Int32>, inputs: UnsafeBufferPointer<UInt32>) -> Int32 {
            let start = blocks.count
            var sx = 0.0, sy = 0.0, sz = 0.0
            for m in lo..<hi {
                let it = list[m]
                // Position-less members are a subtree of their own (`geo` false).
                FlatBlock.append(m - lo, edge: edges[Int(it.k)], hasInputs: inputs[Int(it.k)] != 0, position: geo ? (it.x, it.y, it.z) : nil, to: &blocks)
                sx += it.x; sy += it.y; sz += it.z
            }
            var node = Node(cx: 0, cy: 0, cz: 0, radius: -1, start: Int32(start), count: Int32(hi - lo), left: -1, right: -1)
            if geo {
                (node.cx, node.cy, node.cz) = CandidateIndex.direction(sx, sy, sz, fallback: (list[lo].x, list[lo].y, list[lo].z))
                var r = 0.0
                for m in lo..<hi { r = max(r, CandidateIndex.angleUpper(node.cx * list[m].x + node.cy * list[m].y + node.cz * list[m].z)) }
                node.radius = r
            }
            precondition(nodeCount < nodes.count, "candidate index node estimate exceeded")
            nodes[nodeCount] = node
            nodeCount += 1
            return Int32(nodeCount - 1)
        }
    }

    /// A node over two adjacent children: a ball containing both balls.
    private static func parent(_ built: inout UnsafeMutableBufferPointer<Node>, _ nodeCount: inout Int, _ a: Int32, _ b: Int32) -> Int32 {
        let na = built[Int(a)], nb = built[Int(b)]
        var node = Node(cx: 0, cy: 0, cz: 0, radius: -1, start: na.start, count: na.count + nb.count, left: a, right: b)
        if na.radius >= 0 && nb.radius >= 0 {
            let wa = Double(na.count), wb = Double(nb.count)
            (node.cx, node.cy, node.cz) = direction(na.cx * wa + nb.cx * wb, na.cy * wa + nb.cy * wb, na.cz * wa + nb.cz * wb,
                                                    fallback: (na.cx, na.cy, na.cz))
            let ra = min(Double.pi, angleUpper(node.cx * na.cx + node.cy * na.cy + node.cz * na.cz) + na.radius)
            let rb = min(Double.pi, angleUpper(node.cx * nb.cx + node.cy * nb.cy + node.cz * nb.cz) + nb.radius)
            node.radius = max(ra, rb)
        } else if na.radius >= 0 || nb.radius >= 0 {
            // Positioned and position-less members: any viewer may be next to one.
            (node.cx, node.cy, node.cz) = na.radius >= 0 ? (na.cx, na.cy, na.cz) : (nb.cx, nb.cy, nb.cz)
            node.radius = Double.pi
        }
        precondition(nodeCount < built.count, "candidate index node estimate exceeded")
        built[nodeCount] = node
        nodeCount += 1
        return Int32(nodeCount - 1)
    }

    /// Moves the items whose `axis` value is below `below` to the front; returns where the rest start.
    private static func partition(_ list: UnsafeMutableBufferPointer<Item>, _ lo: Int, _ hi: Int, axis: Int, below: Double) -> Int {
        var i = lo, j = hi - 1
        while true {
            while i <= j && list[i].c[axis] < below { i += 1 }
            while i <= j && !(list[j].c[axis] < below) { j -= 1 }
            if i >= j { return i }
            list.swapAt(i, j)
            i += 1
            j -= 1
        }
    }

    /// Reorders `list[lo..<hi]` so `list[k]` holds the element of rank k on `axis` (0–2: x, y,
    /// z; 3: base), smaller ones before it and larger ones after (Hoare quickselect).
    private static func select(_ list: UnsafeMutableBufferPointer<Item>, _ lo: Int, _ hi: Int, _ k: Int, axis: Int) {
        @inline(__always) func key(_ it: Item) -> Double { it.c[axis] }
        var l = lo, r = hi - 1
        while l < r {
            let pivot = key(list[(l + r) / 2])
            var i = l, j = r
            while i <= j {
                while key(list[i]) < pivot { i += 1 }
                while key(list[j]) > pivot { j -= 1 }
                if i <= j { list.swapAt(i, j); i += 1; j -= 1 }
            }
            if k <= j { r = j } else if k >= i { l = i } else { return }
        }
    }

    /// The allocation behind ``nodes`` (which may be a prefix of it).
    private let storage: UnsafeMutableBufferPointer<Node>

    deinit {
        blocks.deallocate()
        blockRanges.deallocate()
        storage.deallocate()
        roots.deallocate()
        tenantRestricted.deallocate()
    }

    @inline(__always) static func edge(_ e: Int32) -> Int32 { e < 0 ? ~e : e }

    /// Extra angle (radians) for a member's own bound: its unit vector is stored as Float, so
    /// the dot product is off by ≤ 2e-7 and the angle by ≤ 6.4e-4 near 0.
    static let floatAngleError = 6.8e-4

    /// The most geo term any member of a ball of radius `r` can earn from a viewer whose
    /// angle to the ball's centre is `theta` by the polynomial `acos` (within 7e-5 rad):
    /// `W · (1 − max(0, θ − r − 7e-5)/π) + 2` (+2: truncation), W when the viewer may be inside.
    ///
    /// Worked example: W = 1000, θ = 60° (1.0472 rad), r = 10° (0.1745 rad):
    /// `1000 · (1 − 0.87259/π) = 722.25` → **724**.
    @inline(__always) public static func geoBound(weight: UInt64, approximateAngle theta: Double, radius r: Double) -> Int64 {
        let beyond = theta - 7e-5 - r
        if beyond <= 0 { return Int64(weight) }
        let w = Double(weight)
        return Int64(w - beyond * (w * (1 / Double.pi))) &+ 2
    }

    /// An angle at least `acos(dot)` (the polynomial's error bound added).
    @inline(__always) static func angleUpper(_ dot: Double) -> Double {
        min(Double.pi, GeoTerm.approximateAngle(min(1, max(-1, dot))) + 7e-5)
    }

    @inline(__always) static func direction(_ x: Double, _ y: Double, _ z: Double, fallback: (Double, Double, Double)) -> (Double, Double, Double) {
        let n = (x * x + y * y + z * z).squareRoot()
        return n > 1e-9 ? (x / n, y / n, z / n) : fallback
    }
}

/// What ``CandidateIndex`` needs that changes with every snapshot: each edge's best
/// score without the geo term, each node's best member, and each stream's candidates
/// excluded whatever the viewer (counted once per request instead of visited).
final class IndexBounds: @unchecked Sendable {
    /// cpu + ram + bw(at the snapshot's usage) + stream bonus (−penalty for remote edges);
    /// ``excluded`` when the edge is excluded for every stream and viewer.
    let edgeBound: UnsafeMutableBufferPointer<Int32>
    /// Each node's best member bound *without pending* (pending only lowers scores, so this
    /// stays an upper bound): computed with a full snapshot, shared by its pending-only refreshes.
    let nodeMax: NodeMax
    /// Per stream: `tallyStart[s]..<tallyStart[s+1]` in `tally`, each `reason << 24 | count`.
    let tallyStart: [Int32]
    let tally: [UInt32]

    static let excluded = Int32.min

    /// Per block of ``CandidateIndex/blocks``: each lane's `edgeBound`, ``excluded`` for padding,
    /// a candidate without inputs or an excluded edge — so the scans read one vector per block
    /// instead of gathering four edges' bounds. Shared while `edgeBound` is unchanged.
    final class BlockBase: @unchecked Sendable {
        let values: UnsafeMutableBufferPointer<SIMD4<Int32>>
        init(index: CandidateIndex, edgeBound: UnsafeMutableBufferPointer<Int32>) {
            values = .allocate(capacity: max(index.blockCount, 1))
            for b in 0..<index.blockCount {
                let edges = index.blocks[b].edge
                var lanes = SIMD4<Int32>(repeating: IndexBounds.excluded)
                for lane in 0..<4 where edges[lane] >= 0 { lanes[lane] = edgeBound[Int(edges[lane])] }
                values[b] = lanes
            }
        }
        deinit { values.deallocate() }
    }
    let blockBase: BlockBase

    final class NodeMax: @unchecked Sendable {
        let values: UnsafeMutableBufferPointer<Int32>
        init(count: Int) { values = .allocate(capacity: max(count, 1)) }
        deinit { values.deallocate() }
    }

    /// cpu + ram + bw + bonus (− penalty for a remote edge), or ``excluded``.
    @inline(__always) static func bound(_ h: EdgeHot, _ w: ScoringWeights) -> Int32 {
        if h.exclusion != 0 || h.used >= h.limit { return excluded }
        var b = Int64(h.cpuRamScore) + Int64(h.bwBase)
        b += h.remote ? -Int64(ScoringWeights.crossClusterPenalty) : Int64(w.streamBonus)
        return Int32(clamping: b)
    }

    /// With a full snapshot: `baseUsed` is each row's usage without pending.
    init(index: CandidateIndex, streamCount: Int, hot: UnsafeMutableBufferPointer<EdgeHot>, baseUsed: [UInt64], weights w: ScoringWeights) {
        let edgeBound = UnsafeMutableBufferPointer<Int32>.allocate(capacity: max(hot.count, 1))
        for i in 0..<baseUsed.count { edgeBound[i] = IndexBounds.bound(hot[i], w) }  // `hot` has one spare row when there are no edges
        self.edgeBound = edgeBound
        blockBase = BlockBase(index: index, edgeBound: edgeBound)
        (tallyStart, tally) = IndexBounds.tally(index: index, streamCount: streamCount, hot: hot, edgeBound: edgeBound)
        nodeMax = IndexBounds.nodeMax(index: index, hot: hot, baseUsed: baseUsed, weights: w)
    }

    /// Each node's best member bound without pending (`baseUsed`: usage without pending).
    private static func nodeMax(index: CandidateIndex, hot: UnsafeMutableBufferPointer<EdgeHot>, baseUsed: [UInt64], weights w: ScoringWeights) -> NodeMax {
        let optimistic = UnsafeMutableBufferPointer<Int32>.allocate(capacity: max(hot.count, 1))
        defer { optimistic.deallocate() }
        for i in 0..<baseUsed.count {
            optimistic[i] = IndexBounds.bound(hot[i].withUsage(base: baseUsed[i], pending: 0, w), w)
        }
        let nodes = index.nodes, blocks = index.blocks
        let nodeMax = NodeMax(count: nodes.count)
        // Children precede parents, so one forward pass fills every node.
        for n in 0..<nodes.count {
            let node = nodes[n]
            if node.left < 0 {
                var best = IndexBounds.excluded
                for b in Int(node.start)..<(Int(node.start) + (Int(node.count) + 3) / 4) {
                    for lane in 0..<4 {
                        let e = blocks[b].edge[lane]  // padding and no-input lanes are negative
                        if e >= 0 { best = max(best, optimistic[Int(e)]) }
                    }
                }
                nodeMax.values[n] = best
            } else {
                nodeMax.values[n] = max(nodeMax.values[Int(node.left)], nodeMax.values[Int(node.right)])
            }
        }
        return nodeMax
    }

    /// For a refresh: new edge bounds (O(edges)); the exclusion tally recounted only if an
    /// edge became excluded or not, or `reasonsChanged` (a load change moved an edge from one
    /// exclusion to another); node bounds shared after a pending-only change, recomputed from
    /// `loadChangedBaseUsed` (usage without pending) after a load change.
    init(refreshing previous: IndexBounds, index: CandidateIndex, streamCount: Int, hot: UnsafeMutableBufferPointer<EdgeHot>, weights w: ScoringWeights,
         loadChangedBaseUsed: [UInt64]? = nil, reasonsChanged: Bool = false) {
        let edgeBound = UnsafeMutableBufferPointer<Int32>.allocate(capacity: max(hot.count, 1))
        var changed = reasonsChanged
        var anyBound = false
        for i in 0..<index.edgeCount {
            let b = IndexBounds.bound(hot[i], w)
            edgeBound[i] = b
            anyBound = anyBound || b != previous.edgeBound[i]
            changed = changed || ((b == IndexBounds.excluded) != (previous.edgeBound[i] == IndexBounds.excluded))
        }
        self.edgeBound = edgeBound
        blockBase = anyBound ? BlockBase(index: index, edgeBound: edgeBound) : previous.blockBase
        if changed {
            (tallyStart, tally) = IndexBounds.tally(index: index, streamCount: streamCount, hot: hot, edgeBound: edgeBound)
        } else {
            tallyStart = previous.tallyStart
            tally = previous.tally
        }
        nodeMax = loadChangedBaseUsed.map { IndexBounds.nodeMax(index: index, hot: hot, baseUsed: $0, weights: w) } ?? previous.nodeMax
    }

    /// Per stream, the candidates excluded whatever the viewer, by reason.
    private static func tally(index: CandidateIndex, streamCount: Int, hot: UnsafeMutableBufferPointer<EdgeHot>,
                              edgeBound: UnsafeMutableBufferPointer<Int32>) -> ([Int32], [UInt32]) {
        var tallyStart = [Int32](repeating: 0, count: streamCount + 1)
        var tally: [UInt32] = []
        for s in 0..<streamCount {
            tallyStart[s] = Int32(tally.count)
            let range = index.blockRanges[s]
            let members = Int(range.start) * 4..<Int(range.end) * 4
            guard !members.isEmpty else { continue }
            var counts = InlineArray<16, UInt32>(repeating: 0)
            var any = false
            for m in members {
                let e = index.blocks[m / 4].edge[m % 4]
                if e == CandidateIndex.FlatBlock.padding { continue }
                let i = Int(CandidateIndex.edge(e))
                guard edgeBound[i] == IndexBounds.excluded || e < 0 else { continue }
                let h = hot[i]
                let reason: Exclusion = h.exclusion != 0 ? Exclusion(rawValue: h.exclusion).unsafelyUnwrapped
                    : e < 0 ? .streamNoInputs : .bandwidthExhausted
                counts[Int(reason.rawValue)] &+= 1
                any = true
            }
            if any {
                for reason in 0..<16 where counts[reason] > 0 { tally.append(UInt32(reason) << 24 | min(counts[reason], 0xFF_FFFF)) }
            }
        }
        tallyStart[streamCount] = Int32(tally.count)
        return (tallyStart, tally)
    }

    deinit { edgeBound.deallocate() }
}
