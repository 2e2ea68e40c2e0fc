// swift-tools-version: 6.0
import PackageDescription

// Library targets carry no unsafeFlags, so the package can be used as a dependency.
// SIMD kernels live in the small C target `CKernels`: each fast kernel carries a per-function
// `__attribute__((target(...)))` (AVX2+FMA or AVX-512) and is chosen at run time by SIMD level
// beside a portable fallback.
let package = Package(
    name: "swift-attention",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "Attention", targets: ["Attention"]),
        .library(name: "Training", targets: ["Training"]),
        .library(name: "TinyLLM", targets: ["TinyLLM"]),
        .library(name: "Pretrained", targets: ["Pretrained"]),
        .library(name: "AttentionViz", targets: ["AttentionViz"]),
        .executable(name: "attend", targets: ["attend"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // Documentation only (`swift package generate-documentation`); no library depends on it.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .target(name: "CKernels"),
        .target(name: "Attention", dependencies: ["CKernels"]),
        .target(name: "Training", dependencies: ["Attention", "CKernels"]),
        .target(name: "TinyLLM", dependencies: ["Attention", "Training", "CKernels"], resources: [.copy("Resources/BundledModel"), .copy("Resources/BundledModelUTF8")]),
        .target(name: "Pretrained", dependencies: ["Attention", "CKernels"]),
        .target(name: "AttentionViz", dependencies: ["Attention"]),
        .executableTarget(
            name: "attend",
            dependencies: [
                "Attention", "Training", "TinyLLM", "Pretrained", "AttentionViz",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "TestSupport", dependencies: ["Attention"], path: "Tests/TestSupport"),
        .testTarget(name: "AttentionTests", dependencies: ["Attention", "TestSupport"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "TestSupport"]),
        .testTarget(name: "TinyLLMTests", dependencies: ["TinyLLM", "AttentionViz", "TestSupport"]),
        .testTarget(name: "PretrainedTests", dependencies: ["Pretrained", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "AttentionVizTests", dependencies: ["AttentionViz", "TestSupport"], exclude: ["Snapshots"]),
        .testTarget(name: "AttendCLITests", dependencies: ["attend", "Attention", "TinyLLM", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
