// swift-tools-version: 6.1
// Foghorn — viewer routing and scoring for live video. See README.md and docs/.
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// The request path: in release builds, skip the runtime exclusivity checks
/// (swift_beginAccess on every class-property write, ~5 % of a routed request).
/// Debug builds and every test run keep them.
let hotPath: [SwiftSetting] = strict + [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "foghorn",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "foghorn", targets: ["foghorn"]),
        .library(name: "FoghornHTTPCore", targets: ["FoghornHTTPCore"]),
        .library(name: "FoghornJSON", targets: ["FoghornJSON"]),
        .library(name: "FoghornConfig", targets: ["FoghornConfig"]),
        .library(name: "FoghornModel", targets: ["FoghornModel"]),
        .library(name: "FoghornPeering", targets: ["FoghornPeering"]),
        .library(name: "FoghornGeoLibrary", targets: ["FoghornGeo"]),
        .library(name: "FoghornRouting", targets: ["FoghornRouting"]),
        .library(name: "FoghornApp", targets: ["FoghornApp"]),
        .library(name: "FoghornFuzzChecks", targets: ["FoghornFuzzChecks"]),
        .library(name: "FoghornAgent", targets: ["FoghornAgent"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
    ],
    targets: [
        // C libraries from Debian, one target each, never in public signatures.
        .systemLibrary(name: "CLibUV", pkgConfig: "libuv", providers: [.apt(["libuv1-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CMaxMindDB", pkgConfig: "libmaxminddb", providers: [.apt(["libmaxminddb-dev"])]),
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // Our own C: socket options and what Swift cannot import.
        .target(name: "CFoghornShims"),

        // Pure Swift, no C, no I/O.
        .target(name: "FoghornJSON", swiftSettings: strict),
        .target(name: "FoghornHTTPCore", dependencies: ["FoghornJSON"], swiftSettings: hotPath),
        .target(name: "FoghornConfig", dependencies: ["FoghornJSON", "FoghornModel"], swiftSettings: strict),
        .target(name: "FoghornSync", swiftSettings: strict),
        .target(name: "FoghornModel", dependencies: ["FoghornJSON", "FoghornSync"], swiftSettings: hotPath),
        .target(name: "FoghornPeering", dependencies: ["FoghornJSON", "FoghornModel"], swiftSettings: strict),

        // I/O.
        .target(name: "FoghornState", dependencies: ["CSQLite", "FoghornJSON", "FoghornModel", "FoghornSync"], swiftSettings: strict),
        .target(name: "FoghornRedis", dependencies: ["CHiredis", "CLibUV", "FoghornHTTP", "FoghornJSON", "FoghornModel", "FoghornState"], swiftSettings: strict),
        .target(name: "FoghornGeo", dependencies: ["CMaxMindDB", "FoghornModel"], swiftSettings: strict),
        .target(name: "FoghornTLS", dependencies: ["COpenSSL", "FoghornSync"], swiftSettings: strict),
        .target(
            name: "FoghornHTTP",
            dependencies: [
                "CLibUV", "CFoghornShims", "FoghornHTTPCore", "FoghornSync", "FoghornTLS",
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: hotPath
        ),
        .target(
            name: "FoghornRouting",
            dependencies: ["FoghornHTTP", "FoghornHTTPCore", "FoghornJSON", "FoghornModel"],
            swiftSettings: hotPath
        ),
        .target(
            name: "FoghornControl",
            dependencies: [
                "FoghornHTTP", "FoghornHTTPCore", "FoghornJSON", "FoghornModel", "FoghornConfig", "FoghornGeo", "FoghornOps", "FoghornPeering", "FoghornRedis", "FoghornState", "FoghornSync", "FoghornTLS",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "FoghornOps",
            dependencies: [
                "FoghornHTTP", "FoghornHTTPCore", "FoghornJSON", "FoghornSync",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "FoghornApp",
            dependencies: [
                "CFoghornShims", "FoghornHTTP", "FoghornHTTPCore", "FoghornJSON", "FoghornOps", "FoghornConfig", "FoghornModel", "FoghornGeo", "FoghornControl", "FoghornRedis", "FoghornRouting", "FoghornState", "FoghornSync", "FoghornTLS",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict,
            plugins: ["BuildInfoPlugin"]
        ),
        // The git commit baked into the binary (`foghorn --version`, `foghorn_build_info`).
        .plugin(name: "BuildInfoPlugin", capability: .buildTool()),
        // The edge side: `foghorn edge-agent` (enrol once, then sample MistServer and /proc and report).
        .target(
            name: "FoghornAgent",
            dependencies: ["FoghornHTTP", "FoghornJSON", "FoghornModel", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "foghorn",
            dependencies: [
                "FoghornAgent", "FoghornApp", "FoghornConfig", "FoghornJSON", "FoghornModel", "FoghornOps",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),

        // The fuzz targets' invariants (Fuzz/ runs them under libFuzzer, the suite replays the corpora through them).
        .target(name: "FoghornFuzzChecks", dependencies: ["FoghornConfig", "FoghornJSON", "FoghornModel", "FoghornPeering"], swiftSettings: strict),

        // Tests.
        .target(
            name: "FoghornTesting",
            dependencies: ["COpenSSL", "FoghornApp", "FoghornConfig", "FoghornControl", "FoghornHTTP", "FoghornHTTPCore", "FoghornPeering", "FoghornSync", "FoghornTLS"],
            path: "Tests/FoghornTesting",
            swiftSettings: strict
        ),
        .testTarget(name: "FoghornJSONTests", dependencies: ["FoghornJSON"], swiftSettings: strict),
        // Drives routers in process (no sockets): the parser, dispatch and writer a connection uses.
        .target(name: "FoghornRouterTesting", dependencies: ["FoghornHTTPCore"], path: "Tests/FoghornRouterTesting", swiftSettings: strict),
        .testTarget(name: "FoghornRoutingTests", dependencies: ["FoghornRouting", "FoghornRouterTesting", "FoghornHTTPCore", "FoghornModel", "FoghornModelFixtures"], swiftSettings: strict),
        // Shared by the unit test targets: seeded generators (no dependency on Foghorn's modules).
        .target(name: "FoghornTestSupport", path: "Tests/FoghornTestSupport", swiftSettings: strict),
        .testTarget(name: "FoghornHTTPCoreTests", dependencies: ["FoghornHTTPCore", "FoghornTestSupport"], swiftSettings: strict),
        // Model values tests share (edges, snapshots, rankings).
        .target(name: "FoghornModelFixtures", dependencies: ["FoghornModel"], path: "Tests/FoghornModelFixtures", swiftSettings: strict),
        .testTarget(name: "FoghornModelTests", dependencies: ["FoghornModel", "FoghornModelFixtures", "FoghornJSON", "FoghornTestSupport"], swiftSettings: strict),
        .testTarget(name: "FoghornGeoTests", dependencies: ["FoghornGeo", "FoghornModel"], swiftSettings: strict),
        .testTarget(name: "FoghornConfigTests", dependencies: ["FoghornConfig", "FoghornModel", "FoghornModelFixtures"], swiftSettings: strict),
        .testTarget(name: "FoghornPeeringTests", dependencies: ["FoghornPeering", "FoghornModel", "FoghornModelFixtures", "FoghornJSON"], swiftSettings: strict),
        .testTarget(name: "FoghornControlTests", dependencies: ["FoghornControl", "FoghornConfig", "FoghornHTTP", "FoghornModel", "FoghornModelFixtures",
                                                        .product(name: "Logging", package: "swift-log")], swiftSettings: strict),
        // Durable records the state-store tests share.
        .target(name: "FoghornStateFixtures", dependencies: ["FoghornModel", "FoghornState"], path: "Tests/FoghornStateFixtures", swiftSettings: strict),
        .testTarget(name: "FoghornStateTests", dependencies: ["FoghornState", "FoghornStateFixtures", "FoghornModel", "FoghornJSON", "FoghornSync", "FoghornTestSupport"], swiftSettings: strict),
        .testTarget(name: "FoghornAgentTests", dependencies: ["FoghornAgent", "FoghornJSON", "FoghornModel"], swiftSettings: strict),
        .testTarget(name: "FoghornOpsTests", dependencies: ["FoghornOps", "FoghornHTTP", .product(name: "Logging", package: "swift-log")], swiftSettings: strict),
        .testTarget(name: "FoghornFuzzChecksTests", dependencies: ["FoghornFuzzChecks"], swiftSettings: strict),
        .testTarget(
            name: "FoghornIntegrationTests",
            dependencies: ["COpenSSL", "FoghornApp", "FoghornConfig", "FoghornOps", "FoghornHTTP", "FoghornHTTPCore", "FoghornJSON", "FoghornModel", "FoghornPeering", "FoghornRouting", "FoghornControl", "FoghornRedis", "FoghornState", "FoghornStateFixtures", "FoghornSync", "FoghornTesting", "FoghornRouterTesting", "foghorn"],
            swiftSettings: strict
        ),
    ]
)
