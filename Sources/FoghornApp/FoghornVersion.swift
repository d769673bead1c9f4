/// The version this binary reports (`foghorn version`, `/v1/version`, `foghorn_build_info`).
public enum FoghornVersion {
    public static let string = "0.1.0"
}
