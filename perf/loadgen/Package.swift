// swift-tools-version: 6.1
// The open-loop load generator (perf/README.md): its own package so the server never links it.
//   cd perf/loadgen && swift build -c release
//   .build/release/foghorn-loadgen --port 18508 --rate 50000 --connections 64 --seconds 10 --targets ../.cache/f100.targets
import PackageDescription

let package = Package(
    name: "foghorn-loadgen",
    dependencies: [
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
    ],
    targets: [
        .systemLibrary(name: "CLoadgenUV", pkgConfig: "libuv", providers: [.apt(["libuv1-dev"])]),
        .executableTarget(
            name: "foghorn-loadgen",
            dependencies: ["CLoadgenUV", .product(name: "Histogram", package: "hdrhistogram-swift")],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
