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
    // One entry per route, in registration order, in flat columns: matching copies no
    // per-route struct (a copy of one retained and released its name, methods, path, handler
    // and Allow text: 10 refcount operations per route tried, callgrind).
    private var names: [String] = []
    /// The `Allow` header of a route's 405 answer.
    private var allowHeaders: [String] = []
    /// Every route's path bytes, one after the other (reallocated on each `add`, read in place
    /// by `match`).
    private var patterns = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    private var patternStart: [Int] = [0]  // route i's path is patterns[patternStart[i]..<patternStart[i + 1]]
    private var prefixFlags: [Bool] = []
    private var methodMasks: [UInt16] = []
    /// Handlers inside a struct: an array of bare closures stores them at the generic
    /// abstraction, and reading one back allocates a reabstraction thunk per request.
    private struct Handler { let call: HTTPHandler }
    private var handlers: [Handler] = []

    public static let notFoundRoute = 0
    public static let methodNotAllowedRoute = 1
    /// Route names in index order: the two reserved ones first.
    public var routeNames: [String] { ["not_found", "method_not_allowed"] + names }

    public init() {}

    /// Registers `handler` for `methods` on `path` (a prefix when it ends with `*`).
    public func add(_ name: String, _ methods: Set<HTTPMethod>, _ path: String, handler: @escaping HTTPHandler) {
        var bytes = Array(path.utf8)
        let isPrefix = bytes.last == UInt8(ascii: "*")
        if isPrefix { bytes.removeLast() }
        names.append(name)
        allowHeaders.append(HTTPMethod.allCases.filter { methods.contains($0) }.map(\.name).joined(separator: ", "))
        let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: patterns.count + bytes.count, alignment: 1)
        if patterns.count > 0 { grown.copyMemory(from: UnsafeRawBufferPointer(patterns)) }
        if !bytes.isEmpty { UnsafeMutableRawBufferPointer(rebasing: grown[patterns.count...]).copyBytes(from: bytes) }
        patterns.deallocate()
        patterns = grown
        patternStart.append(patterns.count)
        prefixFlags.append(isPrefix)
        methodMasks.append(methods.reduce(0) { $0 | (1 << $1.rawValue) })
        handlers.append(Handler(call: handler))
    }

    /// Replaces every route's handler registered so far by `wrap(routeName, handler)` — a gate
    /// in front of a whole listener (the internal listener's `internal_auth`). Call before serving.
    public func wrapHandlers(_ wrap: (String, @escaping HTTPHandler) -> HTTPHandler) {
        for i in handlers.indices { handlers[i] = Handler(call: wrap(names[i], handlers[i].call)) }
    }

    public enum Match {
        /// Index into `routeNames`.
        case route(Int, HTTPHandler)
        case notFound
        case methodNotAllowed(allow: String)
    }

    public func match(method: HTTPMethod, path: UnsafeRawBufferPointer) -> Match {
        let bit = UInt16(1) << method.rawValue
        var pathMatched = -1
        for index in 0..<prefixFlags.count {
            let start = patternStart[index], count = patternStart[index + 1] &- start
            if prefixFlags[index] {
                guard path.count >= count else { continue }
            } else {
                guard path.count == count else { continue }
            }
            guard memcmpEqual(path.baseAddress, patterns.baseAddress.map { UnsafeRawPointer($0 + start) }, count) else { continue }
            if methodMasks[index] & bit != 0 { return .route(index + 2, handlers[index].call) }
            if pathMatched < 0 { pathMatched = index }
        }
        if pathMatched >= 0 { return .methodNotAllowed(allow: allowHeaders[pathMatched]) }
        return .notFound
    }

    deinit { patterns.deallocate() }
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
