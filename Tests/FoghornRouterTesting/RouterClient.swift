public import FoghornHTTPCore

/// Drives a router in process, without sockets or loops: a request's bytes are parsed by the
/// real parser and dispatched by the real dispatch (``HTTPDispatch``) into the real response
/// writer, and the response is read back — so a handler is tested on exactly what a connection
/// would do with it, in microseconds. (Hummingbird's test framework runs one body over its
/// `.router` and `.live` drivers; this is the `.router` half, `TestServer` the live one.)
///
/// ```swift
/// let client = RouterClient(router)
/// let r = client.send("GET", "/play/p1/hls/index.m3u8", headers: [("X-Forwarded-For", "81.2.69.142")])
/// r.status                 // 307
/// r.header("location")     // "https://edge-a.example/hls/live+a/index.m3u8"
/// ```
public final class RouterClient {
    public let router: HTTPRouter
    /// The address requests come from (what a socket's peer would be).
    public var peerAddress: String
    public var isSecure = false
    /// Headers the listener adds to every answer (``HTTPResponseWriter``'s `commonHeaders`).
    public let commonHeaders: [UInt8]?
    let parser = HTTPRequestParser(limits: HTTPLimits(maxBodyBytes: 1 << 20))

    public init(_ router: HTTPRouter, peerAddress: String = "127.0.0.1", commonHeaders: [UInt8]? = nil) {
        self.router = router
        self.commonHeaders = commonHeaders
        self.peerAddress = peerAddress
    }

    /// Sends `method path` with `headers` (plus `Host`, and `Content-Length` for a body).
    public func send(_ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []) -> RoutedResponse {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: foghorn.test\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if !body.isEmpty { text += "Content-Length: \(body.count)\r\n" }
        text += "\r\n"
        return raw(Array(text.utf8) + body)
    }

    /// Sends one request given as raw bytes (head and body).
    public func raw(_ bytes: [UInt8]) -> RoutedResponse {
        dispatch(bytes) { router, request, writer in
            let route = HTTPDispatch.run(router, request, &writer)
            if let park = writer.park, !writer.finished { return .parked(ParkedRequest(client: self, bytes: bytes, park: park), route) }
            return .answered(route)
        }
    }

    enum Outcome { case answered(Int), parked(ParkedRequest, Int) }

    func dispatch(_ bytes: [UInt8], _ body: (HTTPRouter, HTTPRequest, inout HTTPResponseWriter) -> Outcome) -> RoutedResponse {
        let headers = UnsafeMutableBufferPointer<HTTPHeaderField>.allocate(capacity: parser.limits.maxHeaderCount + 1)
        defer { headers.deallocate() }
        let output = ByteBuffer()
        return bytes.withUnsafeBytes { raw -> RoutedResponse in
          (commonHeaders ?? []).withUnsafeBytes { common -> RoutedResponse in
            let common = commonHeaders == nil ? nil : common
            var progress = HTTPParseProgress()
            var writer: HTTPResponseWriter
            switch parser.parse(raw, progress: &progress, headers: headers) {
            case .incomplete:
                preconditionFailure("RouterClient: an incomplete request")
            case .failed(let error):
                writer = HTTPResponseWriter(buffer: output, closeConnection: true, isHeadRequest: false, commonHeaders: common)
                writer.error(error)
                return RoutedResponse(output.readable, route: nil, parked: nil)
            case .complete(let head):
                var request = HTTPRequest(
                    buffer: raw, head: head, headers: UnsafeBufferPointer(rebasing: headers[..<head.headerCount]),
                    body: UnsafeRawBufferPointer(rebasing: raw[head.headLength...]), peerAddress: peerAddress)
                request.isSecure = isSecure
                writer = HTTPResponseWriter(buffer: output, closeConnection: !head.keepAlive, isHeadRequest: head.method == .head, commonHeaders: common)
                switch body(router, request, &writer) {
                case .answered(let route): return RoutedResponse(output.readable, route: route, parked: nil)
                case .parked(let parked, let route): return RoutedResponse(output.readable, route: route, parked: parked)
                }
            }
          }
        }
    }
}

/// A request its handler parked (``HTTPResponseWriter/park``): whether the handler's lookup has
/// resumed it yet, and its answer then (``retry()``) or at its deadline (``timeOut()``).
public final class ParkedRequest {
    let client: RouterClient
    let bytes: [UInt8]
    let park: HTTPParkRequest
    /// Set when the handler's lookup resumed the request (``HTTPResumeHandle/resume()``).
    public private(set) var wasResumed = false
    public let timeoutMs: UInt64
    private var handle: HTTPResumeHandle?

    init(client: RouterClient, bytes: [UInt8], park: HTTPParkRequest) {
        self.client = client
        self.bytes = bytes
        self.park = park
        timeoutMs = park.timeoutMs
        let handle = HTTPResumeHandle { [weak self] in self?.wasResumed = true }  // a lookup may answer after the test let go
        self.handle = handle
        park.register(handle)
    }

    /// The request dispatched again, as a connection does once it is resumed — or, when the
    /// waiting work answered it (``HTTPResumeHandle/answer(_:)``), that answer.
    public func retry() -> RoutedResponse {
        if let answer = handle?.answerWriter {
            return client.dispatch(bytes) { _, _, writer in
                answer(&writer)
                return .answered(HTTPRouter.notFoundRoute)
            }
        }
        return client.raw(bytes)
    }

    /// The park's deadline answer, as a connection writes it when nothing resumed the request.
    public func timeOut() -> RoutedResponse {
        client.dispatch(bytes) { _, _, writer in
            park.onTimeout(&writer)
            return .answered(HTTPRouter.notFoundRoute)
        }
    }
}

/// A response as a client reads it.
public struct RoutedResponse {
    public let status: Int
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]
    /// The route that answered (nil for a request the parser refused).
    public let route: Int?
    /// Set when the handler parked the request instead of answering.
    public let parked: ParkedRequest?

    init(_ bytes: UnsafeRawBufferPointer, route: Int?, parked: ParkedRequest?) {
        self.route = route
        self.parked = parked
        let all = Array(bytes)
        guard let end = RoutedResponse.headEnd(all) else {
            status = 0; headers = []; body = all
            return
        }
        let lines = String(decoding: all[..<end], as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusLine = lines.first.map(String.init) ?? ""
        status = statusLine.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        headers = lines.dropFirst().compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), String(line[line.index(after: colon)...].drop { $0 == " " }))
        }
        body = Array(all[(end + 4)...])
    }

    static func headEnd(_ b: [UInt8]) -> Int? {
        guard b.count >= 4 else { return nil }
        for i in 0...(b.count - 4) where b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 && b[i + 3] == 10 { return i }
        return nil
    }

    /// The first header named `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name.lowercased() == lower }?.value
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}
