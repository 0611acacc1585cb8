// swift-tools-version:6.0
import PackageDescription

// Linux only: srcip is an eBPF tracer (libbpf, rtnetlink, network namespaces, Glibc).
let package = Package(
    name: "srcip",
    products: [
        .executable(name: "srcip", targets: ["srcip"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
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
        .target(name: "SrcipCore", dependencies: ["CSrcipABI"]),
        // Kernel side: load, attach, ring buffer. The only module that imports libbpf.
        .target(
            name: "SrcipKernel",
            dependencies: ["SrcipCore", "SrcipSystem", "CSrcipABI", "CLibbpf", "CSrcipSkeleton"]
        ),
        // Linux calls Swift's Glibc module hides (setns), compiled with _GNU_SOURCE.
        .target(name: "CSrcipSystem", path: "Sources/CSrcipSystem"),
        // Running external tools (ip, iptables-save, nft, conntrack) without Foundation's Process; child processes;
        // running work inside a network namespace.
        .target(name: "SrcipSystem", dependencies: ["CSrcipSystem"]),
        // The small HTTP/1.x server (and socket helpers) behind `srcip trace --metrics` and the lab's workloads.
        .target(name: "SrcipHTTP", dependencies: ["SrcipSystem"]),
        // Prometheus metrics of a trace: counters and gauges with bounded labels, the text exposition format, the server.
        .target(name: "SrcipMetrics", dependencies: ["SrcipCore", "SrcipHTTP"]),
        // srcip's one JSON stack: the reader (values with line/column/path errors and input limits), typed object access
        // with field-path errors, and the one-line object writer. No dependencies.
        .target(name: "SrcipJSON"),
        // srcip's version from `git describe` at build time (SrcipVersion.current).
        .plugin(name: "SrcipVersionPlugin", capability: .buildTool()),
        .target(name: "SrcipVersion", plugins: ["SrcipVersionPlugin"]),
        // Service discovery: kube-proxy iptables/nftables rules, kubectl JSON dumps → ServiceCatalog.
        .target(name: "SrcipServices", dependencies: ["SrcipCore", "SrcipSystem", "SrcipJSON"]),
        // Flow log exporters: JSON Lines, CSV, IPFIX (RFC 7011 + RFC 8158 NAT elements).
        .target(name: "SrcipExport", dependencies: ["SrcipCore", "SrcipJSON"]),
        // The lab (`srcip lab …`), in layers; the tracer's modules never depend on it.
        // Manifests → cluster state: YAML, nodes/pods/Services, address and port allocation.
        .target(name: "SrcipLabCluster", dependencies: ["SrcipCore", "Yams"], resources: [.copy("Manifests")]),
        // kube-proxy's rules for a cluster state: iptables and nftables renderers, health-check responses, and the
        // rule-plan expectation (an independent cross-check of SrcipCore's §4 table).
        .target(name: "SrcipLabKubeProxy", dependencies: ["SrcipCore", "SrcipJSON", "SrcipLabCluster"]),
        // Processes that run inside the lab: HTTP echo server and probe, health-check servers, LB proxy.
        .target(name: "SrcipLabWorkloads", dependencies: ["SrcipCore", "SrcipSystem", "SrcipHTTP", "SrcipLabCluster", "SrcipLabKubeProxy"]),
        // The lab's network: namespaces, veths, routing, rule loading, daemons, LB setup, the lab record; up/down/status.
        .target(
            name: "SrcipLabNetwork",
            dependencies: ["SrcipCore", "SrcipSystem", "SrcipLabCluster", "SrcipLabKubeProxy", "SrcipLabWorkloads"]
        ),
        // The demo: scenarios, probes, `srcip trace` per node, report.
        .target(
            name: "SrcipLabDemo",
            dependencies: ["SrcipCore", "SrcipSystem", "SrcipExport", "SrcipJSON", "SrcipLabCluster", "SrcipLabKubeProxy",
                           "SrcipLabWorkloads", "SrcipLabNetwork"]
        ),
        .executableTarget(
            name: "srcip",
            dependencies: [
                "SrcipCore", "SrcipKernel", "SrcipServices", "SrcipExport", "SrcipJSON", "SrcipVersion",
                "SrcipHTTP", "SrcipMetrics", "SrcipLabCluster", "SrcipLabKubeProxy", "SrcipLabWorkloads", "SrcipLabNetwork", "SrcipLabDemo",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Network-namespace testbeds shared by privileged tests and benchmarks.
        .target(name: "SrcipTestbed", dependencies: ["SrcipCore", "SrcipSystem", "SrcipJSON", "CSrcipABI"]),
        // `make bench`: BPF cost, event volume, consumer and correlation rates, lab timings.
        .executableTarget(
            name: "srcip-bench",
            dependencies: ["SrcipCore", "SrcipKernel", "SrcipTestbed", "SrcipExport", "SrcipLabCluster", "SrcipLabNetwork", "SrcipSystem", "CSrcipABI",
                           "SrcipServices", "SrcipLabKubeProxy"]
        ),
        // What tests may rely on (root, the upstream kube-proxy fixtures, the built binary), decided once.
        .target(name: "SrcipTestSupport", path: "Sources/SrcipTestSupport"),
        .testTarget(name: "SrcipCoreTests", dependencies: ["SrcipCore", "CSrcipABI"]),
        .testTarget(name: "SrcipServicesTests", dependencies: ["SrcipTestSupport", "SrcipServices", "SrcipCore", "SrcipJSON",
                                                             "SrcipLabCluster", "SrcipLabKubeProxy", "SrcipLabNetwork", "SrcipSystem"]),
        .testTarget(name: "SrcipExportTests", dependencies: ["SrcipExport", "SrcipCore", "SrcipJSON", "SrcipTestSupport"]),
        .testTarget(name: "SrcipMetricsTests", dependencies: ["SrcipMetrics", "SrcipHTTP", "SrcipCore"]),
        .testTarget(name: "SrcipBenchTests", dependencies: ["srcip-bench", "SrcipTestbed", "SrcipCore"]),
        .testTarget(
            name: "SrcipKernelTests",
            dependencies: ["SrcipTestSupport", "SrcipKernel", "SrcipCore", "CSrcipABI", "SrcipTestbed", "SrcipSystem"]
        ),
        .testTarget(
            name: "SrcipCLITests",
            dependencies: ["SrcipTestSupport", "srcip", "SrcipTestbed", "SrcipCore", "SrcipKernel", "SrcipVersion"]
        ),
        .testTarget(name: "SrcipLabClusterTests", dependencies: ["SrcipLabCluster", "SrcipCore"]),
        .testTarget(name: "SrcipLabKubeProxyTests", dependencies: ["SrcipTestSupport", "SrcipLabKubeProxy", "SrcipLabCluster", "SrcipCore"]),
        .testTarget(name: "SrcipDeployTests", dependencies: ["Yams"]),
        .testTarget(
            name: "SrcipLabTests",
            dependencies: ["SrcipTestSupport", "SrcipLabDemo", "SrcipLabNetwork", "SrcipLabWorkloads", "SrcipHTTP", "SrcipLabKubeProxy", "SrcipLabCluster",
                           "SrcipCore", "SrcipSystem"]
        ),
    ]
)
