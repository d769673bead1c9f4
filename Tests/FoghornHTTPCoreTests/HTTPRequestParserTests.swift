import FoghornTestSupport
import Testing
@testable import FoghornHTTPCore

@Suite struct HTTPRequestParserTests {
    @Test func browserRequestIs442BytesWithTenHeaders() {
        #expect(browserRequest.count == 442)
        let (result, headers) = parseWhole(browserRequest)
        let h = try! #require(head(result))
        #expect(h.method == .get)
        #expect(h.version == .http11)
        #expect(h.headerCount == 10)
        #expect(h.headLength == 442)
        #expect(h.keepAlive)
        #expect(text(browserRequest, h.path) == "/play/demo/hls/index.m3u8")
        #expect(text(browserRequest, h.query) == "session=8f2c1")
        #expect(text(browserRequest, h.host) == "foghorn.eu-west.example.com")
        #expect(headers[0].0 == "Host")
        #expect(headers[9] == ("Sec-Fetch-Site", "cross-site"))
    }

    @Test func valuesAreTrimmedAndCaseInsensitiveNamesRecognised() {
        let bytes = Array("POST /v1/x HTTP/1.1\r\nhOsT:  a.example \t\r\ncontent-LENGTH: 5\r\nX-Empty:\r\n\r\nhello".utf8)
        let (result, headers) = parseWhole(bytes)
        let h = try! #require(head(result))
        #expect(h.method == .post)
        #expect(h.contentLength == 5)
        #expect(text(bytes, h.host) == "a.example")
        #expect(headers.map(\.1) == ["a.example", "5", ""])
        #expect(h.headLength == bytes.count - 5)
    }

    @Test func methodsAndVersions() {
        for (m, expected) in [("GET", HTTPMethod.get), ("HEAD", .head), ("OPTIONS", .options), ("POST", .post),
                              ("PUT", .put), ("DELETE", .delete), ("PATCH", .patch)] {
            #expect(head(parseWhole("\(m) / HTTP/1.1\r\nHost: x\r\n\r\n"))?.method == expected)
        }
        let h10 = head(parseWhole("GET / HTTP/1.0\r\n\r\n"))
        #expect(h10?.version == .http10)
        #expect(h10?.keepAlive == false)
        #expect(head(parseWhole("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"))?.keepAlive == true)
        #expect(head(parseWhole("GET / HTTP/1.1\r\nHost: x\r\nConnection: foo, close\r\n\r\n"))?.keepAlive == false)
        // A higher HTTP/1.x minor is handled as 1.1.
        #expect(head(parseWhole("GET / HTTP/1.2\r\nHost: x\r\n\r\n"))?.version == .http11)
    }

    @Test func targetForms() {
        let abs = Array("GET http://A.example/p?q=1 HTTP/1.1\r\nHost: a.example\r\n\r\n".utf8)
        let h = try! #require(head(parseWhole(abs).0))
        #expect(text(abs, h.path) == "/p")
        #expect(text(abs, h.query) == "q=1")
        let star = head(parseWhole("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(star?.isAsterisk == true)
        #expect(head(parseWhole("GET /a? HTTP/1.1\r\nHost: x\r\n\r\n"))?.hasQuery == true)
        #expect(head(parseWhole("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"))?.hasQuery == false)
    }

    @Test func leadingEmptyLinesAreIgnored() {
        let h = head(parseWhole("\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(h?.headLength == 31)
    }

    @Test func expectContinueIsRecognised() {
        #expect(head(parseWhole("PUT /x HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n"))?.expectsContinue == true)
    }

    static let rejections: [(String, HTTPParseError)] = [
        ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", .contentLengthWithTransferEncoding),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", .contentLengthWithTransferEncoding),
        ("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", .transferEncodingNotAllowed),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", .lengthRequired),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", .duplicateContentLength),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", .duplicateContentLength),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", .invalidContentLength),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\n", .invalidContentLength),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\n", .invalidContentLength),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n", .invalidContentLength),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n", .invalidContentLength),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1234567890123456789\r\n\r\n", .invalidContentLength),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A: b\r\n c\r\n\r\n", .obsFold),
        ("GET / HTTP/1.1\r\nHost: x\r\n\tX-A: b\r\n\r\n", .obsFold),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A: b\rc\r\n\r\n", .bareCR),
        ("GET / HTTP/1.1\r\nHost: x\rX-A: b\r\n\r\n", .bareCR),
        ("GET /a\rb HTTP/1.1\r\nHost: x\r\n\r\n", .bareCR),
        ("GET / HTTP/1.1\nHost: x\r\n\r\n", .bareLF),
        ("GET / HTTP/1.1\r\nHost: x\n\r\n", .bareLF),
        ("GET / HTTP/1.1\r\nHost: x\r\n\n", .bareLF),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A: b\0c\r\n\r\n", .nulByte),
        ("GET /\0 HTTP/1.1\r\nHost: x\r\n\r\n", .nulByte),
        ("GE\0T / HTTP/1.1\r\nHost: x\r\n\r\n", .nulByte),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A : b\r\n\r\n", .invalidHeaderName),
        ("GET / HTTP/1.1\r\nHost: x\r\nX(A): b\r\n\r\n", .invalidHeaderName),
        ("GET / HTTP/1.1\r\nHost: x\r\n: b\r\n\r\n", .invalidHeaderName),
        ("GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", .invalidHeaderName),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A: b\u{7F}\r\n\r\n", .invalidHeaderValue),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A: b\u{01}\r\n\r\n", .invalidHeaderValue),
        ("G(T / HTTP/1.1\r\nHost: x\r\n\r\n", .invalidMethod),
        (" GET / HTTP/1.1\r\nHost: x\r\n\r\n", .invalidMethod),
        ("GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n", .invalidMethod),
        ("BREW / HTTP/1.1\r\nHost: x\r\n\r\n", .methodNotImplemented),
        ("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", .methodNotImplemented),
        ("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", .invalidTarget),
        ("GET a/b HTTP/1.1\r\nHost: x\r\n\r\n", .invalidTarget),
        ("GET /a#frag HTTP/1.1\r\nHost: x\r\n\r\n", .invalidTarget),
        ("GET * HTTP/1.1\r\nHost: x\r\n\r\n", .invalidTarget),
        ("GET /\u{E9} HTTP/1.1\r\nHost: x\r\n\r\n", .invalidTarget),
        ("GET /\r\n\r\n", .http09NotSupported),
        ("GET /\r\n", .http09NotSupported),
        ("GET / HTTP/1.1 \r\nHost: x\r\n\r\n", .invalidVersion),
        ("GET / http/1.1\r\nHost: x\r\n\r\n", .invalidVersion),
        ("GET / HTTP/11\r\nHost: x\r\n\r\n", .invalidVersion),
        ("GET / HTTP/1.1.1\r\nHost: x\r\n\r\n", .invalidVersion),
        ("GET / HTTP/2.0\r\nHost: x\r\n\r\n", .unsupportedVersion),
        ("GET / HTTP/0.9\r\nHost: x\r\n\r\n", .unsupportedVersion),
        ("GET / HTTP/3.0\r\nHost: x\r\n\r\n", .unsupportedVersion),
        ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", .http2Preface),
        ("GET / HTTP/1.1\r\n\r\n", .missingHost),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", .duplicateHost),
        ("GET http://a.example/ HTTP/1.1\r\nHost: b.example\r\n\r\n", .hostMismatch),
        ("GET http:/// HTTP/1.1\r\nHost: b.example\r\n\r\n", .invalidTarget),
        ("GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n", .invalidTarget),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n", .bodyTooLarge),
    ]

    @Test(arguments: 0..<rejections.count)
    func rejection(_ index: Int) {
        let (request, expected) = Self.rejections[index]
        #expect(failure(parseWhole(request)) == expected, "\(request.debugDescription)")
    }

    @Test func everyRejectionHasAStatusCodeAndMessage() {
        for error in HTTPParseError.allCases {
            #expect(error.status.rawValue >= 400)
            #expect(!error.code.isEmpty && error.code == error.code.uppercased())
            #expect(!error.message.isEmpty)
        }
        #expect(HTTPParseError.requestLineTooLong.status == .uriTooLong)
        #expect(HTTPParseError.headerBlockTooLarge.status == .requestHeaderFieldsTooLarge)
        #expect(HTTPParseError.tooManyHeaders.status == .requestHeaderFieldsTooLarge)
        #expect(HTTPParseError.bodyTooLarge.status == .payloadTooLarge)
        #expect(HTTPParseError.unsupportedVersion.status == .httpVersionNotSupported)
        #expect(HTTPParseError.http2Preface.status == .badRequest)
        #expect(HTTPParseError.headerTimeout.status == .requestTimeout)
    }

    @Test func earlyRejectionWithoutTheRestOfTheHead() {
        // The request line alone is enough to reject these.
        #expect(failure(parseWhole("PRI * HTTP/2.0\r\n")) == .http2Preface)
        #expect(failure(parseWhole("GET /\r\n")) == .http09NotSupported)
        #expect(failure(parseWhole("G@T")) == .invalidMethod)
        #expect(parseWhole("GET / HTTP/1.1\r\nHost: x\r\n") == .incomplete)
    }

    // MARK: Split at every byte boundary

    static let splitCorpus: [String] = [
        String(decoding: browserRequest, as: UTF8.self),
        "POST /v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
        "\r\nGET / HTTP/1.0\r\n\r\n",
        "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
    ] + rejections.map(\.0)

    @Test(arguments: 0..<splitCorpus.count)
    func everySplitGivesTheSameResult(_ index: Int) {
        let bytes = Array(Self.splitCorpus[index].utf8)
        let (whole, wholeHeaders) = parseWhole(bytes)
        for cut in 1..<bytes.count {
            let (split, splitHeaders) = parseSplit(bytes, at: [cut])
            #expect(split == whole, "cut at \(cut) of \(Self.splitCorpus[index].debugDescription)")
            #expect(splitHeaders.map(\.0) == wholeHeaders.map(\.0))
            #expect(splitHeaders.map(\.1) == wholeHeaders.map(\.1))
        }
        // One byte at a time.
        let (byteByByte, _) = parseSplit(bytes, at: Array(1..<bytes.count))
        #expect(byteByByte == whole)
    }

    @Test func randomChunkingGivesTheSameResult() {
        var rng = SplitMix(seed: 42)
        for request in Self.splitCorpus {
            let bytes = Array(request.utf8)
            let (whole, _) = parseWhole(bytes)
            for _ in 0..<20 {
                var cuts: [Int] = []
                var at = 0
                while at < bytes.count { at += Int(rng.next() % 7) + 1; cuts.append(at) }
                #expect(parseSplit(bytes, at: cuts).0 == whole)
            }
        }
    }

    // MARK: Exact limits

    @Test func requestLineLimitBoundary() {
        let limits = HTTPLimits(maxRequestLineBytes: 100)
        // "GET " + target + " HTTP/1.1" = 13 + target
        let atLimit = "GET /" + String(repeating: "a", count: 100 - 14) + " HTTP/1.1"
        #expect(atLimit.utf8.count == 100)
        #expect(head(parseWhole(atLimit + "\r\nHost: x\r\n\r\n", limits: limits)) != nil)
        let over = "GET /" + String(repeating: "a", count: 101 - 14) + " HTTP/1.1"
        #expect(failure(parseWhole(over + "\r\nHost: x\r\n\r\n", limits: limits)) == .requestLineTooLong)
        // Without its end yet: rejected as soon as it cannot fit.
        #expect(parseWhole(atLimit + "\r", limits: limits) == .incomplete)
        #expect(failure(parseWhole(over + "\r", limits: limits)) == .requestLineTooLong)
        #expect(failure(parseWhole("GET /" + String(repeating: "a", count: 200), limits: limits)) == .requestLineTooLong)
        // The default limit is 8 KiB.
        let defaultLine = "GET /" + String(repeating: "a", count: 8192 - 14) + " HTTP/1.1"
        #expect(head(parseWhole(defaultLine + "\r\nHost: x\r\n\r\n")) != nil)
        #expect(failure(parseWhole("GET /" + String(repeating: "a", count: 8193 - 14) + " HTTP/1.1\r\nHost: x\r\n\r\n")) == .requestLineTooLong)
    }

    /// A header block of exactly `size` bytes: one `Host: x` line and one filler header.
    static func headerBlock(size: Int) -> String {
        // "Host: x\r\n" (9) + "X-F: " (5) + filler + "\r\n" (2) + final "\r\n" (2)
        let filler = size - 9 - 5 - 2 - 2
        return "Host: x\r\nX-F: " + String(repeating: "f", count: filler) + "\r\n\r\n"
    }

    @Test func headerBlockLimitBoundary() {
        let exact = Self.headerBlock(size: 16384)
        #expect(exact.utf8.count == 16384)
        #expect(head(parseWhole("GET / HTTP/1.1\r\n" + exact)) != nil)
        #expect(failure(parseWhole("GET / HTTP/1.1\r\n" + Self.headerBlock(size: 16385))) == .headerBlockTooLarge)
        // Still arriving, and already too long.
        let partial = "GET / HTTP/1.1\r\nHost: x\r\nX-F: " + String(repeating: "f", count: 16384)
        #expect(failure(parseWhole(partial)) == .headerBlockTooLarge)
    }

    @Test func headerCountBoundary() {
        func request(headers: Int) -> String {
            "GET / HTTP/1.1\r\nHost: x\r\n" + (1..<headers).map { "X-\($0): v\r\n" }.joined() + "\r\n"
        }
        #expect(head(parseWhole(request(headers: 64)))?.headerCount == 64)
        #expect(failure(parseWhole(request(headers: 65))) == .tooManyHeaders)
    }

    @Test func bodyLimitBoundary() {
        let limits = HTTPLimits(maxBodyBytes: 10)
        #expect(head(parseWhole("PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n", limits: limits))?.contentLength == 10)
        #expect(failure(parseWhole("PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n", limits: limits)) == .bodyTooLarge)
        // The viewer listener takes no body at all.
        let viewer = HTTPLimits(maxBodyBytes: 0)
        #expect(head(parseWhole("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", limits: viewer)) != nil)
        #expect(failure(parseWhole("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n", limits: viewer)) == .bodyTooLarge)
    }

    @Test func pipelinedRequestsParseOneAfterAnother() {
        let bytes = Array("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        let parser = HTTPRequestParser(limits: HTTPLimits())
        let scratch = UnsafeMutableBufferPointer<HTTPHeaderField>.allocate(capacity: 64)
        defer { scratch.deallocate() }
        var progress = HTTPParseProgress()
        bytes.withUnsafeBytes { raw in
            guard case .complete(let first) = parser.parse(raw, progress: &progress, headers: scratch) else {
                Issue.record("first not complete"); return
            }
            #expect(text(bytes, first.path) == "/a")
            progress.reset()
            let rest = UnsafeRawBufferPointer(rebasing: raw[first.headLength...])
            guard case .complete(let second) = parser.parse(rest, progress: &progress, headers: scratch) else {
                Issue.record("second not complete"); return
            }
            #expect(String(decoding: rest[Int(second.path.start)..<Int(second.path.end)], as: UTF8.self) == "/b")
        }
    }
}

