import Foundation
import SrcipTestbed
import SrcipVersion
import Testing

/// The real Prometheus server (Debian's `prometheus` package) scrapes `srcip trace --metrics` while it traces NAT
/// traffic in a lab's router namespace; what Prometheus stores equals the flow records srcip wrote, by verdict.
/// Both run inside the router namespace on its loopback, on ports chosen per run.
@Suite(.serialized, .privileged)
struct PrometheusScrapeTests {
    static let prometheus = "/usr/bin/prometheus"

    /// `GET url` from inside `netns` (curl); nil on failure.
    static func get(_ lab: NATLab, _ url: String) -> String? {
        try? lab.exec(lab.router, ["curl", "-sf", "--max-time", "3", url])
    }

    /// The instant vector of `query` as label set (one label's value) → value, through /api/v1/query.
    static func query(_ lab: NATLab, port: Int, _ query: String, by label: String) -> [String: Double]? {
        let q = query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? query
        guard let text = get(lab, "http://127.0.0.1:\(port)/api/v1/query?query=\(q)"),
              let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              json["status"] as? String == "success", let data = json["data"] as? [String: Any],
              let result = data["result"] as? [[String: Any]] else { return nil }
        var out: [String: Double] = [:]
        for r in result {
            guard let metric = r["metric"] as? [String: String], let value = r["value"] as? [Any], value.count == 2,
                  let v = (value[1] as? String).flatMap(Double.init) else { return nil }
            out[metric[label] ?? ""] = v
        }
        return out
    }

    /// Flow records in the JSON Lines file, counted by verdict.
    static func verdicts(_ path: String) -> [String: Double] {
        var out: [String: Double] = [:]
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") {
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let v = o["verdict"] as? String else { continue }
            out[v, default: 0] += 1
        }
        return out
    }

    @Test func prometheusScrapesTheFlowCountsSrcipWrote() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.prometheus),
                     "needs Debian's prometheus package (make deps installs it)")
        let lab = try NATLab()
        defer { lab.teardown() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("srcip-prom-\(lab.tag)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let metricsPort = Int.random(in: 20_000..<30_000), promPort = Int.random(in: 30_000..<40_000)
        let flows = dir.appendingPathComponent("flows.jsonl").path

        let trace = try SrcipProcess(["trace", "--format", "jsonl", "--output", flows, "--services", "none", "--idle-timeout", "1",
                                      "--metrics", "127.0.0.1:\(metricsPort)"], netns: lab.router)
        defer { if trace.process.isRunning { kill(trace.pid, SIGKILL) }; trace.wait(timeout: 10) }
        #expect(trace.waitForStderr("tracing"), "\(trace.stderr)")
        #expect(Self.get(lab, "http://127.0.0.1:\(metricsPort)/healthz") == "ok\n")

        let config = dir.appendingPathComponent("prometheus.yml").path
        try """
            global: {scrape_interval: 1s, scrape_timeout: 1s}
            scrape_configs:
              - job_name: srcip
                static_configs: [{targets: ["127.0.0.1:\(metricsPort)"]}]
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let prom = Process()
        prom.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        prom.arguments = ["netns", "exec", lab.router, Self.prometheus, "--config.file=\(config)",
                          "--storage.tsdb.path=\(dir.appendingPathComponent("data").path)",
                          "--web.listen-address=127.0.0.1:\(promPort)"]
        let promLog = FileHandle(forWritingAtPath: "/dev/null")
        prom.standardOutput = promLog
        prom.standardError = promLog
        try prom.run()
        defer {
            kill(prom.processIdentifier, SIGKILL)   // ip netns exec execs prometheus: the pid is prometheus's
            prom.waitUntilExit()
        }

        // NAT traffic: TCP and UDP to the VIP (DNAT + MASQUERADE), pings to the server (MASQUERADE).
        _ = try lab.clientTraffic(tcpConnections: 6, bytes: 2000, udpExchanges: 3)
        try lab.ping(count: 3, id: UInt16.random(in: 1000..<60000))

        // Wait until every flow ended and was written, and Prometheus scraped the same numbers.
        var written: [String: Double] = [:], scraped: [String: Double]?
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            written = Self.verdicts(flows)
            scraped = Self.query(lab, port: promPort, "sum by (verdict) (srcip_flows_total)", by: "verdict")
            if written.values.reduce(0, +) >= 10, scraped == written { break }
            usleep(500_000)
        }
        #expect(written.values.reduce(0, +) >= 10, "flows written: \(written)")
        #expect(written["snat", default: 0] >= 10, "\(written)")
        #expect(scraped == written, "Prometheus \(String(describing: scraped)) vs records \(written)")
        #expect(Self.query(lab, port: promPort, "sum(srcip_flows_total{service=\"none\", expectation_met=\"unknown\"})", by: "")?[""]
                == written.values.reduce(0, +))
        #expect(Self.query(lab, port: promPort, "srcip_interfaces_attached", by: "")?[""] == 2)   // the router's two veths
        #expect(Self.query(lab, port: promPort, "srcip_catalog_refreshes_total", by: "")?[""] == 1)
        #expect(Self.query(lab, port: promPort, "sum(srcip_records_lost_total)", by: "")?[""] == 0)
        let version = Self.query(lab, port: promPort, "srcip_build_info", by: "version")
        #expect(version?.count == 1 && version?.values.first == 1 && version?.keys.first?.isEmpty == false)
        let snat = Self.query(lab, port: promPort, "sum by (address) (srcip_snat_flows_total)", by: "address")
        #expect(snat?[NATLab.routerServerSide] == written["snat"], "\(String(describing: snat))")

        kill(trace.pid, SIGINT)
        #expect(trace.wait(timeout: 30) == 0, "\(trace.stderr)")
        #expect(trace.stderr.contains("srcip \(SrcipVersion.current): "), "\(trace.stderr)")
    }
}
