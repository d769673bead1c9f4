/// Every metric name Foghorn exports, declared once. docs/OPERATIONS.md lists them.
public enum MetricNames {
    public static let httpRequests = "foghorn_http_requests_total"
    public static let httpParseErrors = "foghorn_http_parse_errors_total"
    public static let httpConnectionsOpen = "foghorn_http_connections_open"
    public static let httpConnectionsAccepted = "foghorn_http_connections_accepted_total"
    public static let httpAcceptPaused = "foghorn_http_accept_paused_total"
    public static let draining = "foghorn_draining"
    public static let ready = "foghorn_ready"
    public static let buildInfo = "foghorn_build_info"
    public static let startTime = "foghorn_process_start_time_seconds"
    public static let dataLoops = "foghorn_data_loops"
    public static let routingDecisions = "foghorn_routing_decisions_total"
    public static let routingExclusions = "foghorn_routing_exclusions_total"
    public static let snapshotGeneration = "foghorn_snapshot_generation"
    public static let snapshotBuildSeconds = "foghorn_snapshot_build_seconds"
    public static let snapshotEdges = "foghorn_snapshot_edges"
}
