// swift-tools-version: 6.1
// libFuzzer targets, in their own package so `--sanitize=fuzzer` never touches the server's executables.
//   cd Fuzz && swift build -c release --product FuzzHTTPRequest --sanitize=fuzzer --sanitize=address
//   SWIFT_BACKTRACE=enable=no .build/release/FuzzHTTPRequest Corpus/http -max_total_time=60
import PackageDescription

let package = Package(
    name: "FoghornFuzz",
    dependencies: [.package(path: "..")],
    targets: [
        .executableTarget(
            name: "FuzzHTTPRequest",
            dependencies: [.product(name: "FoghornHTTPCore", package: "main")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ]
)
