/// The version this binary reports (`foghorn --version`, `/v1/version`, `foghorn_build_info`).
public enum FoghornVersion {
    public static let string = "0.2.0"
    /// The git commit it was built from (`-dirty` with uncommitted changes; `unknown` outside git),
    /// written before each build by `scripts/build-info`.
    public static let commit = BuildInfo.commit
    /// `0.2.0 (3f2a9c1d7e05)`.
    public static var full: String { "\(string) (\(commit))" }
}
