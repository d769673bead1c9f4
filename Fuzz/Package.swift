// swift-tools-version: 6.1
// libFuzzer targets, in their own package so `--sanitize=fuzzer` never touches the server's executables.
//   cd Fuzz && swift build -c release --product FuzzHTTPRequest --sanitize=fuzzer --sanitize=address \
//     -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp
//   (Swift 6.3.1: without the coverage flags libFuzzer finds no coverage and mutates blindly)
//   SWIFT_BACKTRACE=enable=no .build/release/FuzzHTTPRequest Corpus/http -max_total_time=60
//   (same for FuzzInputs with Corpus/inputs: JSON, YAML, /play paths, IPs, X-Forwarded-For,
//   tag adjustments, edge reports, Mist documents; FuzzPeerFrames with Corpus/peer: PeerChannel frames)
import Foundation
import PackageDescription

/// The root package's identity is its folder's name (a path dependency), whatever the clone is called.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent.lowercased()

let package = Package(
    name: "FoghornFuzz",
    dependencies: [.package(path: "..")],
    targets: [
        .executableTarget(
            name: "FuzzInputs",
            dependencies: [.product(name: "FoghornFuzzChecks", package: root)],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
        .executableTarget(
            name: "FuzzPeerFrames",
            dependencies: [.product(name: "FoghornFuzzChecks", package: root)],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
        .executableTarget(
            name: "FuzzHTTPRequest",
            dependencies: [.product(name: "FoghornHTTPCore", package: root)],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ]
)
