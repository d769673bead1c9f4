public import FoghornTLS

/// A connection carrying bytes on an event loop: plain TCP (``TCPStream``) or TLS over it
/// (``TLSStream``). Callbacks run on the loop; `onClose` runs once.
public protocol ByteStream: AnyObject {
    var loop: EventLoop { get }
    var onRead: ((UnsafeRawBufferPointer) -> Void)? { get set }
    var onClose: ((String) -> Void)? { get set }
    var maxQueuedBytes: Int { get set }
    var remoteAddress: String { get }
    var isClosed: Bool { get }
    func startReading()
    func write(_ bytes: [UInt8])
    func close(_ reason: String)
}

extension TCPStream: ByteStream {}

/// TLS over a ``TCPStream`` through memory BIOs: plaintext written before the handshake
/// completes is held and sent after it; a failed handshake closes with `tls_handshake_failed`.
public final class TLSStream: ByteStream {
    public let tcp: TCPStream
    public let session: TLSSession
    public var onRead: ((UnsafeRawBufferPointer) -> Void)?
    public var onClose: ((String) -> Void)?
    public var maxQueuedBytes: Int {
        get { tcp.maxQueuedBytes }
        set { tcp.maxQueuedBytes = newValue }
    }
    public var loop: EventLoop { tcp.loop }
    public var remoteAddress: String { tcp.remoteAddress }
    public var isClosed: Bool { closed || tcp.isClosed }
    /// The close reason when the handshake failed; ``failure`` says why.
    public static let handshakeFailed = "tls_handshake_failed"
    /// OpenSSL's reason for a failed handshake.
    public private(set) var failure: String?
    private var held: [[UInt8]] = []
    private var closed = false
    private var plain = [UInt8](repeating: 0, count: 16384)
    private var cipher = [UInt8](repeating: 0, count: 16384)

    public init(tcp: TCPStream, session: TLSSession) {
        self.tcp = tcp
        self.session = session
    }

    public func startReading() {
        tcp.onRead = { [unowned self] bytes in received(bytes) }
        tcp.onClose = { [self] reason in  // keeps us alive until the TCP side closed
            closed = true
            let callback = onClose
            onClose = nil
            onRead = nil
            tcp.onRead = nil
            tcp.onClose = nil
            callback?(reason)
        }
        tcp.startReading()
        _ = session.handshake()  // a client starts with its ClientHello
        flush()
    }

    public func write(_ bytes: [UInt8]) {
        guard !closed else { return }
        guard session.handshakeDone else { return held.append(bytes) }
        bytes.withUnsafeBytes { _ = session.write($0) }
        flush()
    }

    public func close(_ reason: String) {
        guard !closed else { return }
        if session.handshakeDone {
            session.shutdown()
            flush()
        }
        tcp.close(reason)
    }

    private func flush() {
        while session.pendingCiphertext > 0 {
            let n = cipher.withUnsafeMutableBytes { session.takeCiphertext(into: $0) }
            if n <= 0 { break }
            tcp.write(Array(cipher[0..<n]))
        }
    }

    private func received(_ bytes: UnsafeRawBufferPointer) {
        session.feed(bytes)
        if !session.handshakeDone {
            switch session.handshake() {
            case .wantMore:
                return flush()
            case .failed(let why):
                failure = why
                flush()
                return tcp.close(TLSStream.handshakeFailed)
            case .done:
                flush()
                let pending = held
                held = []
                for b in pending { write(b) }
            }
        }
        while !closed {
            let n = plain.withUnsafeMutableBytes { session.read(into: $0) }
            if n < 0 { return tcp.close("eof") }
            if n == 0 { break }
            plain.withUnsafeBytes { onRead?(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        flush()
    }
}
