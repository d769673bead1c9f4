import Foundation
import Testing
import FoghornHTTPCore
import FoghornOps
import FoghornRouting
import FoghornModel
import FoghornControl

/// Metric names and error codes are declared once in code; docs/OPERATIONS.md must list each.
@Suite struct OperationsDocTests {
    static var operations: String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return (try? String(contentsOf: root.appendingPathComponent("docs/OPERATIONS.md"), encoding: .utf8)) ?? ""
    }

    @Test func everyMetricIsDocumented() {
        let names = [
            MetricNames.httpRequests, MetricNames.httpParseErrors, MetricNames.httpConnectionsOpen,
            MetricNames.httpConnectionsAccepted, MetricNames.httpAcceptPaused, MetricNames.draining,
            MetricNames.ready, MetricNames.buildInfo, MetricNames.startTime, MetricNames.dataLoops,
            MetricNames.routingDecisions, MetricNames.routingExclusions, MetricNames.snapshotGeneration,
            MetricNames.snapshotBuildSeconds, MetricNames.snapshotEdges, MetricNames.mistPolls, MetricNames.mistNodes,
            MetricNames.configReloads, MetricNames.logLinesDropped, MetricNames.resolverLookups,
            MetricNames.peerChannels, MetricNames.peerChannelErrors, MetricNames.peerQueries, MetricNames.peerQueriesServed,
            MetricNames.peerInbound, MetricNames.peerRemoteEdges,
            MetricNames.resolverConnections, MetricNames.tlsHandshakes, MetricNames.tlsReloads, MetricNames.tlsCertificateExpiry,
            MetricNames.edgeAPIRateLimited, MetricNames.httpAcceptErrors, MetricNames.proxyProtocolRejected,
            MetricNames.httpRequestDuration, MetricNames.resolverLookupDuration, MetricNames.peerQueryDuration, MetricNames.mistPollDuration,
            MetricNames.edgesByState, MetricNames.processCPUSeconds, MetricNames.processResidentMemory, MetricNames.processOpenFds, MetricNames.processMaxFds,
        ]
        for label in PeerManager.errorLabels + PeerManager.queryOutcomeLabels { #expect(Self.operations.contains("`\(label)`"), "\(label)") }
        for name in names { #expect(Self.operations.contains("`\(name)`"), "\(name) undocumented") }
    }

    @Test func everyParseErrorCodeIsDocumentedWithItsStatus() {
        for error in HTTPParseError.allCases {
            #expect(Self.operations.contains("| \(error.status.rawValue) | `\(error.code)`") || Self.operations.contains("`\(error.code)`"),
                    "\(error.code) undocumented")
        }
    }

    @Test func everyRoutingLabelIsDocumented() {
        for outcome in RoutingOutcome.allCases { #expect(Self.operations.contains("`\(outcome.label)`"), "\(outcome.label)") }
        for reason in Exclusion.allCases { #expect(Self.operations.contains("`\(reason.reason)`"), "\(reason.reason)") }
        for path in [InternalPaths.enrollmentTokens, InternalPaths.enroll, InternalPaths.weights, InternalPaths.debugEdges,
                     InternalPaths.debugSnapshot, InternalPaths.nodesOverview, InternalPaths.debugPeers] {
            #expect(Self.operations.contains("`\(path)"), "\(path)")
        }
    }

    @Test func everyOpsPathIsDocumented() {
        for path in [OpsPaths.livez, OpsPaths.readyz, OpsPaths.health, OpsPaths.metrics, OpsPaths.version] {
            #expect(Self.operations.contains("`\(path)`"))
        }
    }
}
