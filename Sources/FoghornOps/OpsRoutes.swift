public import FoghornHTTPCore
import FoghornJSON
public import FoghornSync

/// Endpoint paths of the ops surface, declared once.
public enum OpsPaths {
    public static let livez = "/livez"
    public static let readyz = "/readyz"
    public static let health = "/health"
    public static let metrics = "/metrics"
    public static let version = "/v1/version"
    /// Reload the configuration over HTTP (admin token), as SIGHUP does.
    public static let reload = "/-/reload"
}

/// Registers `/livez`, `/readyz`, `/health`, `/metrics`, `/v1/version`.
public enum OpsRoutes {
    public static func register(on router: HTTPRouter, readiness: Readiness, metrics: MetricsRegistry, version: String,
                                controlLoop: LoopHeartbeat? = nil) {
        registerLiveness(on: router, controlLoop: controlLoop)
        let readyHandler: HTTPHandler = { request, w in
            let ready = readiness.isReady
            let verbose = request.queryParameter("verbose") != nil
            w.head(ready ? .ok : .serviceUnavailable)
            w.header("Cache-Control", "no-store")
            if verbose {
                var j = JSONWriter()
                j.objectStart()
                j.field("ready", ready)
                j.key("checks")
                j.arrayStart()
                for check in readiness.checks {
                    j.objectStart()
                    j.field("name", check.name)
                    j.field("ok", check.ok)
                    if !check.detail.isEmpty { j.field("detail", check.detail) }
                    j.objectEnd()
                }
                j.arrayEnd()
                j.key("warnings")
                j.arrayStart()
                for warning in readiness.warnings { j.string(warning) }
                j.arrayEnd()
                j.objectEnd()
                w.body(j.bytes, contentType: "application/json")
            } else {
                w.body(ready ? "ready\n" : (readiness.isDraining ? "draining\n" : "not ready\n"), contentType: "text/plain; charset=utf-8")
            }
        }
        router.add("readyz", [.get, .head], OpsPaths.readyz, handler: readyHandler)
        router.add("health", [.get, .head], OpsPaths.health, handler: readyHandler)
        router.add("metrics", [.get, .head], OpsPaths.metrics) { _, w in
            w.head(.ok)
            w.header("Cache-Control", "no-store")
            w.body(metrics.render(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
        router.add("version", [.get, .head], OpsPaths.version) { _, w in
            var j = JSONWriter()
            j.objectStart()
            j.field("name", "foghorn")
            j.field("version", version)
            j.field("commit", metrics.commit)
            j.objectEnd()
            w.head(.ok)
            w.header("Cache-Control", "no-store")
            w.body(j.bytes, contentType: "application/json")
        }
    }

    /// `/livez`: 200 `ok` while the process lives — 503 `CONTROL_LOOP_STALLED` once the watchdog
    /// saw the control loop silent for longer than `control_stall_after_ms` (a wedged control
    /// loop routes nothing new, takes no report and cannot shut down cleanly: restart it). The
    /// data loops serve it too, so it answers while the control loop — which serves the
    /// internal listener — cannot.
    public static func registerLiveness(on router: HTTPRouter, controlLoop: LoopHeartbeat?) {
        router.add("livez", [.get, .head], OpsPaths.livez) { _, w in alive(&w, controlLoop) }
    }

    /// 200 `ok`, or 503 `CONTROL_LOOP_STALLED` while the watchdog sees the control loop stalled.
    static func alive(_ w: inout HTTPResponseWriter, _ controlLoop: LoopHeartbeat?) {
        if let controlLoop, controlLoop.isStalled {
            return w.error(.serviceUnavailable, code: "CONTROL_LOOP_STALLED",
                           message: "the control loop has not run for \(controlLoop.silentMs()) ms (activity: \(controlLoop.activity.label))")
        }
        w.head(.ok)
        w.header("Cache-Control", "no-store")
        w.body("ok\n", contentType: "text/plain; charset=utf-8")
    }

    /// `/health` on a viewer listener: what `/livez` answers (the process and its control loop run).
    public static func registerViewerHealth(on router: HTTPRouter, controlLoop: LoopHeartbeat?) {
        router.add("health", [.get, .head], OpsPaths.health) { _, w in alive(&w, controlLoop) }
    }
}
