#if canImport(Glibc)
import Glibc
#endif
public import FoghornHTTPCore

/// Per-loop state shared by the loop's listeners and connections: the scratch
/// read buffer, the response buffer, the connection list and drain state.
/// Confined to the loop's thread.
public final class HTTPLoopContext: @unchecked Sendable {
    public let loop: EventLoop
    /// Where libuv reads into when a connection has no partial request buffered.
    let readScratch: UnsafeMutableRawPointer
    static let readScratchSize = 65536
    /// Every response of the current batch is assembled here, then written with one call.
    public let output = ByteBuffer(capacity: 65536)
    /// TLS connections: ciphertext is read here (then decrypted into `readScratch`) …
    private var tlsScratchStorage: UnsafeMutableRawBufferPointer?
    var tlsReadScratch: UnsafeMutableRawBufferPointer {
        if let s = tlsScratchStorage { return s }
        let s = UnsafeMutableRawBufferPointer.allocate(byteCount: HTTPLoopContext.readScratchSize, alignment: 16)
        tlsScratchStorage = s
        return s
    }
    /// … and a batch's encrypted output is assembled here.
    lazy var tlsOutput = ByteBuffer(capacity: 65536 + 4096)

    var firstConnection: HTTPConnection?
    public private(set) var connectionCount = 0
    var listeners: [HTTPListener] = []

    /// Retunes every listener of this loop named `name` (``HTTPListener/retune(_:)``). On the loop's thread.
    public func retune(listenersNamed name: String, _ options: HTTPListenerOptions) {
        for listener in listeners where listener.options.name == name { listener.retune(options) }
    }
    public private(set) var isDraining = false
    private var drainedCallback: (() -> Void)?

    public init(loop: EventLoop) {
        self.loop = loop
        readScratch = .allocate(byteCount: HTTPLoopContext.readScratchSize, alignment: 16)
    }

    /// `Date: Sat, 05 Dec 2026 06:21:00 GMT\r\n`, formatted once per second of the loop's clock.
    private let dateLine = UnsafeMutableRawBufferPointer.allocate(byteCount: 37, alignment: 1)
    private var dateSecond: UInt64 = .max

    /// The current `Date` header line (refreshed when the loop's millisecond clock enters a new second).
    @inline(__always) func dateHeader() -> UnsafeRawBufferPointer {
        let second = loop.nowMs / 1000
        if second != dateSecond {
            dateSecond = second
            HTTPDate.format(Int(time(nil)), into: dateLine)
        }
        return UnsafeRawBufferPointer(dateLine)
    }

    deinit {
        readScratch.deallocate()
        dateLine.deallocate()
        tlsScratchStorage?.deallocate()
    }

    func link(_ connection: HTTPConnection) {
        connection.next = firstConnection
        firstConnection?.prev = connection
        firstConnection = connection
        connectionCount += 1
    }

    func unlink(_ connection: HTTPConnection) {
        if let prev = connection.prev { prev.next = connection.next } else { firstConnection = connection.next }
        connection.next?.prev = connection.prev
        connection.next = nil
        connection.prev = nil
        connectionCount -= 1
        for listener in listeners where listener.isPaused { listener.resumeAccepting() }
        if isDraining && connectionCount == 0 { finishDrain() }
    }

    /// Stops accepting, closes idle connections, makes every further response
    /// `Connection: close`, and calls `drained` (on this loop) when the last
    /// connection is gone. Must run on the loop's thread.
    public func drain(_ drained: @escaping () -> Void) {
        isDraining = true
        drainedCallback = drained
        for listener in listeners { listener.close() }
        var c = firstConnection
        while let connection = c {
            c = connection.next
            connection.drainIfIdle()
        }
        if connectionCount == 0 { finishDrain() }
    }

    /// Closes every connection at once (hard stop).
    public func closeAll() {
        drainedCallback = nil
        for listener in listeners { listener.close() }
        var c = firstConnection
        while let connection = c {
            c = connection.next
            connection.hardClose()
        }
    }

    private func finishDrain() {
        if let cb = drainedCallback {
            drainedCallback = nil
            cb()
        }
    }
}
