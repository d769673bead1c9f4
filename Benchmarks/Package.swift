// swift-tools-version: 6.1
// Benchmarks live in their own package so the server never links the harness.
// Run: cd Benchmarks && swift package benchmark
import PackageDescription

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
                .product(name: "FoghornHTTPCore", package: "main"),
                .product(name: "FoghornModel", package: "main"),
                .product(name: "FoghornGeoLibrary", package: "main"),
                .product(name: "FoghornRouting", package: "main"),
            ],
            path: "Benchmarks/FoghornBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
