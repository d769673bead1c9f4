/// Operational mode set by operators (`PUT /v1/edges/<id>/mode`).
public enum EdgeMode: String, Sendable, CaseIterable {
    case normal, draining, maintenance
}
