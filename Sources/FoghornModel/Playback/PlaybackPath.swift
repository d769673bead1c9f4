/// The `/play` path grammar (reference §1.2), on bytes, without allocating.
///
/// After the route prefix (`/play/` or `/resolve/`):
///
/// | Path | id | protocol | manifest |
/// |---|---|---|---|
/// | `vk` | `vk` | — | — |
/// | `vk.mp4` | `vk` | `mp4` | — |
/// | `vk/hls/index.m3u8` | `vk` | `hls` | `index.m3u8` |
/// | `vk/cmaf/index.mpd` | `vk` | `cmaf` | `index.mpd` |
/// | `vk/hls/0_1/index.m3u8` | `vk` | `hls` | `0_1/index.m3u8` |
///
/// The first segment may carry `.proto` (further dots ignored); otherwise the
/// second segment is the protocol and the rest is the manifest path.
public struct PlaybackPath: Equatable, Sendable {
    /// Ranges are offsets into the bytes handed to ``parse(_:)``.
    public var id: Range<Int>
    public var protocolName: Range<Int>?
    public var manifest: Range<Int>?

    public enum Error: Swift.Error, Equatable, Sendable {
        case missingViewKey
        case invalidViewKey

        public var code: String { self == .missingViewKey ? "MISSING_VIEW_KEY" : "INVALID_VIEW_KEY" }
        public var message: String {
            self == .missingViewKey ? "playback path is empty" : "playback ID is empty or malformed"
        }
    }

    /// Longest playback ID accepted.
    public static let maxIdBytes = 128

    /// Parses the part after the route prefix. IDs are 1–128 bytes of
    /// `[A-Za-z0-9_+-]` (anything else cannot name a stream).
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Result<PlaybackPath, Error> {
        let n = bytes.count
        if n == 0 { return .failure(.missingViewKey) }
        var i = 0
        if bytes[0] == UInt8(ascii: "/") { i = 1 }
        let segmentStart = i
        while i < n && bytes[i] != UInt8(ascii: "/") { i += 1 }
        let firstEnd = i
        // id[.proto[.ignored…]]
        var idEnd = segmentStart
        while idEnd < firstEnd && bytes[idEnd] != UInt8(ascii: ".") { idEnd += 1 }
        if idEnd == segmentStart || idEnd - segmentStart > maxIdBytes { return .failure(.invalidViewKey) }
        for k in segmentStart..<idEnd where !isIdByte(bytes[k]) { return .failure(.invalidViewKey) }
        var result = PlaybackPath(id: segmentStart..<idEnd, protocolName: nil, manifest: nil)
        if idEnd < firstEnd {
            var protoEnd = idEnd + 1
            while protoEnd < firstEnd && bytes[protoEnd] != UInt8(ascii: ".") { protoEnd += 1 }
            if protoEnd > idEnd + 1 { result.protocolName = (idEnd + 1)..<protoEnd }
        }
        if firstEnd < n {
            var rest = firstEnd + 1
            if result.protocolName == nil {
                var protoEnd = rest
                while protoEnd < n && bytes[protoEnd] != UInt8(ascii: "/") { protoEnd += 1 }
                if protoEnd > rest { result.protocolName = rest..<protoEnd }
                rest = protoEnd < n ? protoEnd + 1 : n
            }
            if rest < n { result.manifest = rest..<n }
        }
        return .success(result)
    }

    @inline(__always) public static func isIdByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) || b == 0x5F || b == 0x2B || b == 0x2D
    }
}

/// Canonical viewer protocols (reference §1.2's `normalizeProtocol`).
public enum ViewerProtocol: UInt8, CaseIterable, Sendable {
    case hls, dash, cmaf, webrtc, srt, rtmp, rtsp, mp4, webm, mkv, ts, flv, aac, smoothstreaming, hds, sdp, h264, dtsc, wsmp4, wswebrtc
    /// MistServer's HTML player page (`/play/<id>.html`; Foghorn's `MIST_HTML`).
    case html
    /// No protocol, `any`, `all`, `json`: answer with JSON instead of a redirect.
    case any

    /// The case's name ("hls", "webrtc", …), from a table built once (no reflection per call).
    public var name: String { ViewerProtocol.names[Int(rawValue)] }
    private static let names: [String] = allCases.map { String(describing: $0) }

    /// Maps a requested protocol (any case) to its canonical form; nil for unknown names.
    /// The name, lower-cased into two words, is compared with ``aliasTable`` — no String, no
    /// hashing (a dictionary lookup here cost ≈ 620 instructions per request).
    public static func normalize(_ bytes: UnsafeRawBufferPointer) -> ViewerProtocol? {
        guard bytes.count <= 16 else { return nil }
        let key = packLowercased(bytes)
        return aliasTable.withUnsafeBufferPointer { table in
            for e in table where e.lo == key.lo && e.hi == key.hi && e.count == bytes.count { return e.proto }
            return nil
        }
    }

    /// Up to 16 bytes, ASCII upper case folded, zero-padded into two words.
    static func packLowercased(_ bytes: UnsafeRawBufferPointer) -> (lo: UInt64, hi: UInt64) {
        var lower = (UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &lower) { out in
            for k in 0..<min(bytes.count, 16) {
                let b = bytes[k]
                out[k] = (b >= 0x41 && b <= 0x5A) ? b | 0x20 : b
            }
        }
        return (lower.0, lower.1)
    }

    /// ``aliases`` packed for ``normalize(_:)``.
    static let aliasTable: [(lo: UInt64, hi: UInt64, count: Int, proto: ViewerProtocol)] = aliases.map { name, proto in
        var n = name
        let key = n.withUTF8 { packLowercased(UnsafeRawBufferPointer($0)) }
        return (key.lo, key.hi, name.utf8.count, proto)
    }

    public static func normalize(_ text: String) -> ViewerProtocol? {
        var t = text
        return t.withUTF8 { normalize(UnsafeRawBufferPointer($0)) }
    }

    /// Every accepted name and its protocol, in the order ``normalize(_:)`` tries them: the
    /// common ones first (a dictionary's order changes from run to run — and with it the
    /// scan's cost per request).
    static let aliases: [(name: String, proto: ViewerProtocol)] = [
        ("hls", .hls), ("m3u8", .hls), ("mpd", .dash), ("dash", .dash), ("cmaf", .cmaf), ("llhls", .cmaf), ("ll-hls", .cmaf),
        ("webrtc", .webrtc), ("whep", .webrtc), ("srt", .srt), ("rtmp", .rtmp), ("rtsp", .rtsp), ("mp4", .mp4),
        ("progressive", .mp4), ("webm", .webm), ("mkv", .mkv), ("matroska", .mkv), ("ts", .ts), ("mpegts", .ts), ("mpeg-ts", .ts),
        ("flv", .flv), ("flash", .flv), ("aac", .aac), ("audio", .aac), ("smooth", .smoothstreaming),
        ("smoothstreaming", .smoothstreaming), ("hss", .smoothstreaming), ("hds", .hds), ("f4m", .hds), ("dynamic", .hds),
        ("sdp", .sdp), ("h264", .h264), ("rawh264", .h264), ("raw", .h264), ("dtsc", .dtsc), ("mist", .dtsc), ("wsmp4", .wsmp4),
        ("wswebrtc", .wswebrtc), ("html", .html), ("embed", .html), ("any", .any), ("all", .any), ("json", .any),
    ]

    /// Output names (case-insensitive) an edge may report for this protocol, in order of preference.
    public var outputNames: [String] {
        switch self {
        case .hls: return ["hls", "hls (ts)"]
        case .dash: return ["dash", "cmaf", "hls (cmaf)"]
        case .cmaf: return ["cmaf", "hls (cmaf)", "ll-hls", "llhls"]
        case .webrtc: return ["whep", "webrtc with whep signalling", "webrtc"]
        case .mp4: return ["mp4", "mp4 progressive", "http"]
        case .webm: return ["webm", "webm progressive", "ebml"]
        case .mkv: return ["mkv", "mkv progressive"]
        case .ts: return ["ts", "httpts", "ts http progressive"]
        case .flv: return ["flv"]
        case .aac: return ["aac", "aac progressive"]
        case .smoothstreaming: return ["smoothstreaming", "smooth", "hss"]
        case .hds: return ["hds", "flash dynamic (hds)"]
        case .h264: return ["h264", "annex b progressive"]
        case .dtsc: return ["dtsc"]
        case .srt: return ["srt", "tssrt"]
        case .rtmp: return ["rtmp"]
        case .rtsp: return ["rtsp"]
        case .sdp: return ["sdp"]
        case .wsmp4: return ["wsmp4", "mews"]
        case .wswebrtc: return ["wswebrtc", "webrtc with websocket signalling"]
        case .html: return ["html", "embed", "http"]
        case .any: return []
        }
    }

    /// The URL template used when the edge reports no output for this protocol
    /// but has a `base_url` (relative to it; `$` is the stream name).
    public var derivedTemplate: String? {
        switch self {
        case .hls: return "hls/$/index.m3u8"
        case .dash, .cmaf: return "cmaf/$/index.mpd"
        case .webrtc: return "webrtc/$"
        case .mp4: return "$.mp4"
        case .html: return "$.html"
        default: return nil
        }
    }
}
