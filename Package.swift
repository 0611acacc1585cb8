// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "srcip",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "srcip", targets: ["srcip"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // The one ABI header shared by the BPF programs and Swift.
        .target(name: "CSrcipABI", path: "Sources/CSrcipABI"),
        // libbpf from the system (pkg-config libbpf).
        .systemLibrary(
            name: "CLibbpf",
            path: "Sources/CLibbpf",
            pkgConfig: "libbpf",
            providers: [.apt(["libbpf-dev", "libelf-dev", "zlib1g-dev"])]
        ),
        // The generated (committed) bpftool skeleton, wrapped in C functions.
        .target(name: "CSrcipSkeleton", dependencies: ["CLibbpf", "CSrcipABI"], path: "Sources/CSrcipSkeleton"),
        // Pure Swift: addresses, tuples, observations, flows, services, verdicts. No I/O.
        .target(
            name: "SrcipCore",
            dependencies: ["CSrcipABI", .product(name: "Collections", package: "swift-collections")]
        ),
        // Kernel side: load, attach, ring buffer. The only module that imports libbpf.
        .target(
            name: "SrcipKernel",
            dependencies: ["SrcipCore", "CSrcipABI", "CLibbpf", "CSrcipSkeleton"],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        // srcip's version from `git describe` at build time (SrcipVersion.current).
        .plugin(name: "SrcipVersionPlugin", capability: .buildTool()),
        .target(name: "SrcipVersion", plugins: ["SrcipVersionPlugin"]),
        // Running external tools (ip, iptables-save, nft, conntrack) without Foundation's Process.
        .target(name: "SrcipSystem"),
        // Service discovery: kube-proxy iptables/nftables rules, kubectl JSON dumps → ServiceCatalog.
        .target(name: "SrcipServices", dependencies: ["SrcipCore", "SrcipSystem"]),
        // Flow log exporters: JSON Lines, CSV, IPFIX (RFC 7011 + RFC 8158 NAT elements).
        .target(name: "SrcipExport", dependencies: ["SrcipCore"]),
        // The lab: netns cluster, kube-proxy rule rendering, echo server, demo.
        .target(
            name: "SrcipLab",
            dependencies: ["SrcipCore", "SrcipSystem", "Yams"],
            resources: [.copy("Manifests")],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        .executableTarget(
            name: "srcip",
            dependencies: [
                "SrcipCore", "SrcipKernel", "SrcipServices", "SrcipExport", "SrcipLab", "SrcipVersion",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        // Network-namespace testbeds shared by privileged tests and benchmarks.
        .target(name: "SrcipTestbed", dependencies: ["SrcipCore", "SrcipSystem"], swiftSettings: [.swiftLanguageMode(.v5)]),
        // `make bench`: BPF cost, event volume, consumer and correlation rates, lab timings.
        .executableTarget(
            name: "srcip-bench",
            dependencies: ["SrcipCore", "SrcipKernel", "SrcipTestbed", "SrcipExport", "SrcipLab", "SrcipSystem", "CSrcipABI"],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        .testTarget(name: "SrcipCoreTests", dependencies: ["SrcipCore", "CSrcipABI"]),
        .testTarget(name: "SrcipServicesTests", dependencies: ["SrcipServices", "SrcipCore"]),
        .testTarget(name: "SrcipExportTests", dependencies: ["SrcipExport", "SrcipCore"]),
        .testTarget(
            name: "SrcipKernelTests",
            dependencies: ["SrcipKernel", "SrcipCore", "CSrcipABI", "SrcipTestbed", "SrcipSystem"],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        .testTarget(
            name: "SrcipCLITests",
            dependencies: ["srcip", "SrcipTestbed", "SrcipCore", "SrcipKernel"],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        .testTarget(name: "SrcipDeployTests", dependencies: ["Yams"]),
        .testTarget(
            name: "SrcipLabTests",
            dependencies: ["SrcipLab", "SrcipCore"],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
    ]
)
