import CLibUV
import CFoghornShims
#if canImport(Glibc)
import Glibc
#endif

/// A listening TCP socket on a loop that hands each accepted connection to `onAccept`.
public final class TCPServer {
    public let loop: EventLoop
    public let port: UInt16
    private let handle: UnsafeMutablePointer<uv_tcp_t>
    private let onAccept: (TCPStream) -> Void
    private var closed = false

    /// Adopts `socket` and listens. Call on `loop`'s thread.
    public init(socket: ListeningSocket, loop: EventLoop, onAccept: @escaping (TCPStream) -> Void) throws(ListeningSocket.BindError) {
        self.loop = loop
        self.port = socket.port
        self.onAccept = onAccept
        handle = .allocate(capacity: 1)
        uv_tcp_init(loop.uvLoop, handle)
        handle.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        var rc = uv_tcp_open(handle, uv_os_sock_t(socket.fd))
        if rc == 0 {
            rc = handle.withMemoryRebound(to: uv_stream_t.self, capacity: 1) { uv_listen($0, 128, tcpServerConnection) }
        }
        if rc != 0 {
            closed = true
            _ = Unmanaged.passRetained(self)
            handle.withMemoryRebound(to: uv_handle_t.self, capacity: 1) { uv_close($0, tcpServerClosed) }
            throw ListeningSocket.BindError(address: HostPort.format(host: socket.host, port: socket.port), errno: -rc)
        }
    }

    fileprivate func connection(_ status: Int32) {
        guard status == 0, !closed else { return }
        let accepted = handle.withMemoryRebound(to: uv_stream_t.self, capacity: 1) { TCPStream.accept(on: loop, server: $0) }
        if let accepted { onAccept(accepted) }
    }

    /// Stops listening. Idempotent.
    public func close() {
        guard !closed else { return }
        closed = true
        _ = Unmanaged.passRetained(self)
        handle.withMemoryRebound(to: uv_handle_t.self, capacity: 1) { uv_close($0, tcpServerClosed) }
    }

    fileprivate func didClose() {
        handle.deallocate()
    }
}

private func tcpServerConnection(_ server: UnsafeMutablePointer<uv_stream_t>?, _ status: Int32) {
    guard let data = server?.pointee.data else { return }
    Unmanaged<TCPServer>.fromOpaque(data).takeUnretainedValue().connection(status)
}

private func tcpServerClosed(_ handle: UnsafeMutablePointer<uv_handle_t>?) {
    guard let data = handle?.pointee.data else { return }
    Unmanaged<TCPServer>.fromOpaque(data).takeRetainedValue().didClose()
}
