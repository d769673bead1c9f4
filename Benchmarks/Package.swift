// swift-tools-version: 6.1
// Benchmarks live in their own package so the server never links the harness.
// Run: cd Benchmarks && swift package benchmark
import Foundation
import PackageDescription

/// The root package's identity is its folder's name (a path dependency), whatever the clone is called.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent.lowercased()

let package = Package(
    name: "FoghornBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "FoghornBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "FoghornHTTPCore", package: root),
                .product(name: "FoghornModel", package: root),
                .product(name: "FoghornGeoLibrary", package: root),
                .product(name: "FoghornRouting", package: root),
            ],
            path: "Benchmarks/FoghornBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
