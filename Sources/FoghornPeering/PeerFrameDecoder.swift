/// Splits a byte stream into frames. Trusts no length: a header announcing
/// more than `maxPayloadBytes` fails at once (before buffering it), a wrong
/// version or unknown type fails, and after a failure it yields nothing more.
///
///     var d = PeerFrameDecoder()
///     d.feed(bytes)
///     while let frame = try d.next() { … }
public struct PeerFrameDecoder: Sendable {
    public let maxPayloadBytes: Int
    private var buffer: [UInt8] = []
    private var start = 0
    private var failed: PeerProtocolError?

    public init(maxPayloadBytes: Int = PeerFrame.defaultMaxPayloadBytes) {
        self.maxPayloadBytes = maxPayloadBytes
    }

    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        guard failed == nil else { return }
        buffer.append(contentsOf: bytes)
    }

    public mutating func feed(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { feed($0) }
    }

    /// Bytes received but not yet returned as frames.
    public var bufferedBytes: Int { buffer.count - start }

    /// The next complete frame, nil when more bytes are needed.
    public mutating func next() throws(PeerProtocolError) -> (type: PeerMessageType, payload: [UInt8])? {
        if let failed { throw failed }
        let available = buffer.count - start
        guard available >= 1 else { return nil }
        if buffer[start] != PeerFrame.version { return try fail(PeerProtocolError("bad_version", "frame version \(buffer[start]), expected \(PeerFrame.version)")) }
        guard available >= 2 else { return nil }
        guard let type = PeerMessageType(rawValue: buffer[start + 1]) else {
            return try fail(PeerProtocolError("unknown_type", "frame type \(buffer[start + 1])"))
        }
        guard available >= PeerFrame.headerBytes else { return nil }
        var length = 0
        for k in 2..<6 { length = length << 8 | Int(buffer[start + k]) }
        if length > maxPayloadBytes {
            return try fail(PeerProtocolError("oversized", "frame of \(length) bytes, cap \(maxPayloadBytes)"))
        }
        guard available >= PeerFrame.headerBytes + length else { return nil }
        let from = start + PeerFrame.headerBytes
        let payload = Array(buffer[from..<(from + length)])
        start = from + length
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.count <= 1 << 20)
            start = 0
        } else if start > 1 << 16 && start * 2 > buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
        return (type, payload)
    }

    private mutating func fail(_ e: PeerProtocolError) throws(PeerProtocolError) -> (type: PeerMessageType, payload: [UInt8])? {
        failed = e
        buffer = []
        start = 0
        throw e
    }
}
