/// Every edge's resolved URL templates and node ID as bytes in one buffer, so building a
/// redirect reads plain memory: no template arrays or strings retained per request.
/// Built with a full snapshot and shared by its pending-only refreshes.
public final class URLTable: @unchecked Sendable {
    /// One resolved template: `prefix` + stream name + `suffix` (see ``URLTemplate``).
    /// Valid while the snapshot that owns the table is alive.
    public struct View {
        public let prefix: UnsafeRawBufferPointer
        public let suffix: UnsafeRawBufferPointer
        public let hasStreamPlaceholder: Bool
        public let endsWithManifest: Bool
    }

    struct Span {
        var prefixStart: Int32
        var prefixCount: Int32
        var suffixStart: Int32
        var suffixCount: Int32
        /// 1: present, 2: has the stream placeholder, 4: ends with a manifest.
        var flags: UInt8
    }

    let bytes: UnsafeMutableRawBufferPointer
    /// By `edge * protocolCount + protocol`.
    let spans: UnsafeMutableBufferPointer<Span>
    let nodeSpans: UnsafeMutableBufferPointer<(start: Int32, count: Int32)>
    let protocolCount: Int

    init(urls: [[URLTemplate?]], nodeIds: [String], protocolCount: Int) {
        self.protocolCount = protocolCount
        var total = 0
        for row in urls { for t in row { if let t { total += t.prefix.count + t.suffix.count } } }
        for id in nodeIds { total += id.utf8.count }
        bytes = .allocate(byteCount: max(total, 1), alignment: 8)
        spans = .allocate(capacity: max(urls.count * protocolCount, 1))
        spans.initialize(repeating: Span(prefixStart: 0, prefixCount: 0, suffixStart: 0, suffixCount: 0, flags: 0))
        nodeSpans = .allocate(capacity: max(nodeIds.count, 1))
        var at = 0
        func put(_ b: [UInt8]) -> (Int32, Int32) {
            let start = at
            b.withUnsafeBytes { src in
                if src.count > 0 { (bytes.baseAddress.unsafelyUnwrapped + at).copyMemory(from: src.baseAddress.unsafelyUnwrapped, byteCount: src.count) }
            }
            at += b.count
            return (Int32(start), Int32(b.count))
        }
        for (edge, row) in urls.enumerated() {
            for (p, t) in row.enumerated() where p < protocolCount {
                guard let t else { continue }
                let (ps, pc) = put(t.prefix)
                let (ss, sc) = put(t.suffix)
                spans[edge * protocolCount + p] = Span(prefixStart: ps, prefixCount: pc, suffixStart: ss, suffixCount: sc,
                                                       flags: 1 | (t.hasStreamPlaceholder ? 2 : 0) | (t.endsWithManifest ? 4 : 0))
            }
        }
        for (i, id) in nodeIds.enumerated() {
            let start = at
            for byte in id.utf8 { bytes[at] = byte; at += 1 }
            nodeSpans[i] = (Int32(start), Int32(at - start))
        }
    }

    deinit {
        bytes.deallocate()
        spans.deallocate()
        nodeSpans.deallocate()
    }

    /// The template of `edge` for protocol index `proto`, if the edge has one.
    @inline(__always) func view(edge: Int, proto: Int) -> View? {
        let s = spans[edge * protocolCount + proto]
        guard s.flags & 1 != 0 else { return nil }
        let base = UnsafeRawPointer(bytes.baseAddress.unsafelyUnwrapped)
        return View(prefix: UnsafeRawBufferPointer(start: base + Int(s.prefixStart), count: Int(s.prefixCount)),
                    suffix: UnsafeRawBufferPointer(start: base + Int(s.suffixStart), count: Int(s.suffixCount)),
                    hasStreamPlaceholder: s.flags & 2 != 0, endsWithManifest: s.flags & 4 != 0)
    }

    /// The node ID of `edge` as UTF-8 bytes.
    @inline(__always) func nodeId(edge: Int) -> UnsafeRawBufferPointer {
        let s = nodeSpans[edge]
        return UnsafeRawBufferPointer(start: UnsafeRawPointer(bytes.baseAddress.unsafelyUnwrapped) + Int(s.start), count: Int(s.count))
    }
}
