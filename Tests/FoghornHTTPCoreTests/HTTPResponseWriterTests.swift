import Testing
@testable import FoghornHTTPCore

/// Defence in depth against response splitting: whatever validation upstream missed, the
/// writer never emits a header value with CR, LF or NUL.
@Suite struct HTTPResponseWriterTests {
    static func write(_ body: (inout HTTPResponseWriter) -> Void, head: Bool = false) -> String {
        let buffer = ByteBuffer()
        var w = HTTPResponseWriter(buffer: buffer, closeConnection: false, isHeadRequest: head)
        body(&w)
        return String(decoding: buffer.readable, as: UTF8.self)
    }

    @Test func aHeaderValueWithCRLFOrNULTurnsTheResponseInto500() {
        for bad in ["http://a/\r\nSet-Cookie: pwned=1", "http://a/\nx", "http://a/\rx", "a\u{0}b", "0123456789abcdef0123\n", "\n"] {
            let before = HTTPResponseWriter.unsafeHeaderValues
            let text = Self.write { w in
                w.head(.temporaryRedirect)
                w.header("Location", string: bad)
                w.header("X-Foghorn-Edge", "e1")
                w.body("moved", contentType: "text/plain")
            }
            #expect(text.hasPrefix("HTTP/1.1 500 Internal Server Error\r\n"), "\(bad.debugDescription): \(text.debugDescription)")
            #expect(!text.contains("Set-Cookie") && !text.contains("Location") && !text.contains("moved"))
            #expect(text.hasSuffix(#"{"error":"internal_error","message":"the response carried a header value with CR, LF or NUL; it was not sent","code":"INTERNAL_ERROR"}"#))
            #expect(HTTPResponseWriter.unsafeHeaderValues == before + 1)
        }
        // Through the raw-bytes and run-time-name variants too.
        let raw = Self.write { w in
            w.head(.ok)
            Array("x\r\ny".utf8).withUnsafeBytes { w.header("X-Request-ID", $0) }
            w.emptyBody()
        }
        #expect(raw.hasPrefix("HTTP/1.1 500 "))
        let named = Self.write { w in
            w.head(.ok)
            w.header(name: "X-A\r\nB", value: "v")
            w.emptyBody()
        }
        #expect(named.hasPrefix("HTTP/1.1 500 "))
    }

    @Test func cleanValuesOfEveryLengthPass() {
        // Every length around the 8-byte word steps; tabs, high bytes and 0x0E–0x1F are not CR/LF/NUL.
        for n in 0..<40 {
            let value = String(repeating: "a\t\u{0E}é", count: n)
            let text = Self.write { w in
                w.head(.temporaryRedirect)
                w.header("Location", string: value)
                w.emptyBody()
            }
            #expect(text.hasPrefix("HTTP/1.1 307 "), "length \(n)")
            #expect(text.contains("Location: \(value)\r\n"))
        }
        // A bad byte at every position of a 40-byte value is found.
        for i in 0..<40 {
            var bytes = Array(repeating: UInt8(ascii: "x"), count: 40)
            for bad: UInt8 in [0x0D, 0x0A, 0x00] {
                bytes[i] = bad
                #expect(!bytes.withUnsafeBytes { HTTPResponseWriter.isSafeHeaderValue($0) }, "byte \(bad) at \(i)")
            }
            bytes[i] = 0x0E
            #expect(bytes.withUnsafeBytes { HTTPResponseWriter.isSafeHeaderValue($0) })
        }
    }
}
