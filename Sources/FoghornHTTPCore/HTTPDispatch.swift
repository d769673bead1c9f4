/// One request through a router into a response writer: the matched route's handler, 404
/// `NOT_FOUND` for an unknown path, 405 `METHOD_NOT_ALLOWED` with `Allow` for a known path and
/// another method, 500 `INTERNAL_ERROR` for a handler that wrote nothing. A handler that parked
/// its request (``HTTPResponseWriter/park``) leaves the writer unfinished for the caller.
/// Connections and the in-process test client dispatch through this one function.
public enum HTTPDispatch {
    /// Runs `router` on `request`; returns the route index for per-route metrics
    /// (``HTTPRouter/notFoundRoute``, ``HTTPRouter/methodNotAllowedRoute`` or the route's).
    @inlinable
    public static func run(_ router: HTTPRouter, _ request: HTTPRequest, _ writer: inout HTTPResponseWriter) -> Int {
        switch router.match(method: request.head.method, path: request.path) {
        case .route(let index, let handler):
            handler(request, &writer)
            if writer.park != nil && !writer.finished { return index }
            if !writer.finished {
                writer.reset()
                writer.error(.internalServerError, code: "INTERNAL_ERROR", message: "handler produced no response")
            }
            return index
        case .notFound:
            writer.error(.notFound, code: "NOT_FOUND", message: "no route for this path")
            return HTTPRouter.notFoundRoute
        case .methodNotAllowed(let allow):
            writer.head(.methodNotAllowed)
            writer.header("Allow", string: allow)
            writer.error(.methodNotAllowed, code: "METHOD_NOT_ALLOWED", message: "method not allowed on this path")
            return HTTPRouter.methodNotAllowedRoute
        }
    }
}
