/// A request handler. It must write exactly one complete response into the writer.
public typealias HTTPHandler = (HTTPRequest, inout HTTPResponseWriter) -> Void

/// Maps method + path to a handler. Routes are matched in registration order;
/// a route's path is either exact (`/livez`) or a prefix (`/play/` matches
/// `/play/anything`). Matching compares bytes; it never allocates.
///
/// A path that matches a route but not its methods answers 405 with `Allow`;
/// no match answers 404 `NOT_FOUND`. Each route has a stable `name` used as
/// the metrics `route` label; index ``notFoundRoute`` and ``methodNotAllowedRoute``
/// are reserved.
public final class HTTPRouter: @unchecked Sendable {
    public struct Route {
        public let name: String
        public let methods: Set<HTTPMethod>
        public let path: [UInt8]
        public let isPrefix: Bool
        public let handler: HTTPHandler
        let allowHeader: String
    }

    public private(set) var routes: [Route] = []
    // What `match` reads, kept flat so that matching copies no `Route` (a copy retains and
    // releases its name, methods, path, handler and Allow text: 10 refcount operations per
    // route tried, callgrind).
    private var patterns: [UInt8] = []
    private var patternStart: [Int] = []  // route i's path is patterns[patternStart[i]..<patternStart[i + 1]]
    private var prefixFlags: [Bool] = []
    private var methodMasks: [UInt16] = []
    private var handlers: [HTTPHandler] = []

    public static let notFoundRoute = 0
    public static let methodNotAllowedRoute = 1
    /// Route names in index order: the two reserved ones first.
    public var routeNames: [String] { ["not_found", "method_not_allowed"] + routes.map(\.name) }

    public init() {}

    /// Registers `handler` for `methods` on `path` (a prefix when it ends with `*`).
    public func add(_ name: String, _ methods: Set<HTTPMethod>, _ path: String, handler: @escaping HTTPHandler) {
        var bytes = Array(path.utf8)
        let isPrefix = bytes.last == UInt8(ascii: "*")
        if isPrefix { bytes.removeLast() }
        let allow = HTTPMethod.allCases.filter { methods.contains($0) }.map(\.name).joined(separator: ", ")
        routes.append(Route(name: name, methods: methods, path: bytes, isPrefix: isPrefix, handler: handler, allowHeader: allow))
        if patternStart.isEmpty { patternStart.append(0) }
        patterns += bytes
        patternStart.append(patterns.count)
        prefixFlags.append(isPrefix)
        methodMasks.append(methods.reduce(0) { $0 | (1 << $1.rawValue) })
        handlers.append(handler)
    }

    public enum Match {
        /// Index into `routeNames`.
        case route(Int, HTTPHandler)
        case notFound
        case methodNotAllowed(allow: String)
    }

    public func match(method: HTTPMethod, path: UnsafeRawBufferPointer) -> Match {
        var pathMatched = -1
        let bit = UInt16(1) << method.rawValue
        let found = patterns.withUnsafeBytes { patternBytes -> Int in
            for index in 0..<prefixFlags.count {
                let start = patternStart[index], count = patternStart[index + 1] &- start
                if prefixFlags[index] {
                    guard path.count >= count else { continue }
                } else {
                    guard path.count == count else { continue }
                }
                guard memcmpEqual(path.baseAddress, patternBytes.baseAddress.map { $0 + start }, count) else { continue }
                if methodMasks[index] & bit != 0 { return index }
                if pathMatched < 0 { pathMatched = index }
            }
            return -1
        }
        if found >= 0 { return .route(found + 2, handlers[found]) }
        if pathMatched >= 0 { return .methodNotAllowed(allow: routes[pathMatched].allowHeader) }
        return .notFound
    }
}

@inline(__always)
func memcmpEqual(_ a: UnsafeRawPointer?, _ b: UnsafeRawPointer?, _ count: Int) -> Bool {
    guard count > 0 else { return true }
    guard let a, let b else { return false }
    var i = 0
    while i < count {
        if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
        i &+= 1
    }
    return true
}
