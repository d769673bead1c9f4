/// One edge's resolved ``URLTemplate`` for every ``ViewerProtocol``, in one byte buffer.
///
/// Layout: one byte per protocol (raw value → template slot, `0xFF` = none), then 12 bytes per
/// distinct template (text offset `UInt32`, prefix and suffix lengths `UInt16`, flags, padding),
/// then the templates' bytes. An array of 21 optional templates with two byte arrays each took
/// ≈ 1 KB per edge (10 MB at 10,000 edges); this takes the text plus ≈ 100 bytes.
///
/// ```swift
/// let hls = URLTemplate.resolve("https://HOST/hls/$/index.m3u8", baseURL: URLParts.parse("https://e1.example/"))
/// let table = URLTemplateTable([hls])           // index 0 = .hls
/// table[.hls]?.prefix                           // "https://e1.example/hls/" as bytes
/// table[.dash]                                  // nil
/// ```
public struct URLTemplateTable: Sendable, Equatable {
    private let storage: [UInt8]
    static let protocolCount = ViewerProtocol.allCases.count
    static let entryBytes = 12

    /// No templates.
    public init() { storage = [] }

    /// `templates[p]` is protocol raw value `p`'s template (missing or nil: none).
    public init(_ templates: [URLTemplate?]) {
        var distinct: [URLTemplate] = []
        var slotOf = [UInt8](repeating: 0xFF, count: URLTemplateTable.protocolCount)
        for (p, t) in templates.enumerated() where p < URLTemplateTable.protocolCount {
            guard let t else { continue }
            if let k = distinct.firstIndex(of: t) {
                slotOf[p] = UInt8(k)
            } else {
                slotOf[p] = UInt8(distinct.count)
                distinct.append(t)
            }
        }
        guard !distinct.isEmpty else { storage = []; return }
        var out = slotOf
        var offset = URLTemplateTable.protocolCount + URLTemplateTable.entryBytes * distinct.count
        out.reserveCapacity(offset + distinct.reduce(0) { $0 + Int($1.prefixCount) + Int($1.suffixCount) })
        for t in distinct {
            withUnsafeBytes(of: UInt32(offset).littleEndian) { out.append(contentsOf: $0) }
            withUnsafeBytes(of: t.prefixCount.littleEndian) { out.append(contentsOf: $0) }
            withUnsafeBytes(of: t.suffixCount.littleEndian) { out.append(contentsOf: $0) }
            out.append((t.hasStreamPlaceholder ? 1 : 0) | (t.endsWithManifest ? 2 : 0) | (t.needsJSONEscaping ? 4 : 0))
            out.append(contentsOf: [0, 0, 0])
            offset += Int(t.prefixCount) + Int(t.suffixCount)
        }
        for t in distinct {
            out.append(contentsOf: t.prefix)
            out.append(contentsOf: t.suffix)
        }
        storage = out
    }

    public var isEmpty: Bool { storage.isEmpty }

    @inline(__always) public subscript(_ proto: ViewerProtocol) -> URLTemplate? {
        let p = Int(proto.rawValue)
        return storage.withUnsafeBytes { b -> URLTemplate? in
            guard p < URLTemplateTable.protocolCount, p < b.count else { return nil }
            let slot = Int(b[p])
            if slot == 0xFF { return nil }
            let e = URLTemplateTable.protocolCount + URLTemplateTable.entryBytes * slot
            let start = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: e, as: UInt32.self))
            let prefixCount = UInt16(littleEndian: b.loadUnaligned(fromByteOffset: e + 4, as: UInt16.self))
            let suffixCount = UInt16(littleEndian: b.loadUnaligned(fromByteOffset: e + 6, as: UInt16.self))
            let flags = b[e + 8]
            return URLTemplate(bytes: storage, start: start, prefixCount: prefixCount, suffixCount: suffixCount,
                               hasStreamPlaceholder: flags & 1 != 0, endsWithManifest: flags & 2 != 0, needsJSONEscaping: flags & 4 != 0)
        }
    }
}
