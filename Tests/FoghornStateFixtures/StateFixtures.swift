public import FoghornModel
public import FoghornState

/// Durable records the state-store tests commit: every kind of mutation, including ones that
/// undo others (a removed edge, a mode back to normal, a removed record).
public enum StateFixtures {
    public static let registration = EdgeRegistration(
        nodeId: "a1b2c3d4e5f6", tenant: "t1", domain: "edge-a1b2c3d4e5f6.eu1.example.net", publicIP: "203.0.113.7", lat: 52.37, lon: 4.9,
        location: "Amsterdam", baseURL: "https://a.example/", capabilities: [.edge, .ingest], enrolledAtUnixMs: 1_764_892_800_000)

    public static let everyKind: [StateMutation] = [
        .registerEdge(registration),
        .registerEdge(EdgeRegistration(nodeId: "0f0f0f0f0f0f", tenant: "", domain: "d", publicIP: "2001:db8::7", enrolledAtUnixMs: 1)),
        .registerEdge(EdgeRegistration(nodeId: "dropped00000", tenant: "", domain: "d", publicIP: "203.0.113.9", enrolledAtUnixMs: 2)),
        .removeEdge(nodeId: "dropped00000"),
        .tokenUses(tokenId: "00112233445566ff", uses: 2, expiresAt: 4_102_444_800),
        .revokeToken(tokenId: "ffeeddccbbaa9988", expiresAt: 4_102_444_800),
        .setMode(nodeId: "a1b2c3d4e5f6", mode: .draining),
        .setMode(nodeId: "s1", mode: .maintenance),
        .setMode(nodeId: "s1", mode: .normal),
        .setPlayback(PlaybackRecord(playbackId: "pb-1", stream: "live+one", tenant: "t1", cluster: "c2")),
        .setPlayback(PlaybackRecord(playbackId: "pb-2", stream: "live+two")),
        .removePlayback(playbackId: "pb-2"),
        .setWeights(ScoringWeights(cpu: 7, geo: 11), fileWeights: ScoringWeights()),
        .mistNode(nodeId: "10.0.0.5:4343", address: "10.0.0.5:4343/100", present: true),
        .mistNode(nodeId: "mist.example", address: "mist.example", present: false),
    ]
}
