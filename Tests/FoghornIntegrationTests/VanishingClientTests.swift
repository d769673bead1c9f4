import Foundation
import Testing
import FoghornApp
import FoghornConfig
import FoghornTesting

/// Viewers that vanish while answers are being written (a player closed mid-answer) cost only
/// their own connection: writes to them fail with EPIPE/ECONNRESET, the process lives on.
@Suite(.serialized) struct VanishingClientTests {
    @Test func clientsResettingMidAnswerNeverKillTheProcess() throws {
        let server = try TestServer.start { c in c.loops = 1 }
        defer { server.stopNow() }
        let port = server.httpPort
        // 10 connections each pipeline 2,000 requests (≈ 600 KiB of answers, more than the socket
        // buffers hold), stop reading and reset: the server writes into connections that are gone.
        // (Whether a write there raises SIGPIPE depends on timing — it did once in CI; the write
        // into a closed socketpair below is the deterministic check.)
        let burst = Array(String(repeating: "GET /play/unknown/hls HTTP/1.1\r\nHost: x\r\n\r\n", count: 2000).utf8)
        for _ in 0..<10 {
            let fd = try TestClient.connectedSocket(host: "127.0.0.1", port: port)
            _ = burst.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            usleep(20_000)
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
            Glibc.close(fd)
        }
        // Once a server runs, a write into a closed connection fails with EPIPE in this process
        // rather than ending it with SIGPIPE.
        var pair: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
        Glibc.close(pair[1])
        var byte: UInt8 = 1
        let written = write(pair[0], &byte, 1)
        let writeErrno = errno
        Glibc.close(pair[0])
        #expect(written == -1)
        #expect(writeErrno == EPIPE)
        // The server still answers, on the viewer and the internal listener.
        #expect(try TestClient.get(port: port, "/play/unknown/hls").status == 404)
        #expect(try TestClient.get(port: server.internalPort, "/livez").status == 200)
    }
}
