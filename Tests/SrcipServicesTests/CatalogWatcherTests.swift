import Foundation
import SrcipCore
import Testing
@testable import SrcipServices

/// `CatalogWatcher` on a `--services FILE`: changes are read, equal rewrites and half-written files keep the catalog.
@Suite struct CatalogWatcherTests {
    static func dump(_ names: [String]) -> String {
        let items = names.enumerated().map { i, n in
            #"{"kind":"Service","metadata":{"namespace":"ns","name":"\#(n)"},"spec":{"type":"ClusterIP","clusterIP":"10.96.0.\#(i + 1)","ports":[{"port":80}]}}"#
        }
        return #"{"kind":"List","items":["# + items.joined(separator: ",") + "]}"
    }

    func next(_ it: inout AsyncStream<CatalogWatchEvent>.Iterator) async throws -> CatalogWatchEvent {
        try #require(await it.next())
    }

    @Test func fileChangesAreReadAndFailuresKeepTheCatalog() async throws {
        let path = NSTemporaryDirectory() + "srcip-watch-\(getpid())-\(UInt32.random(in: 0..<1_000_000)).json"
        defer { unlink(path) }
        try Self.dump(["a", "b"]).write(toFile: path, atomically: true, encoding: .utf8)
        let initial = try ServiceDiscovery.read(file: path)
        var options = CatalogWatcher.Options(source: .file(path))
        options.pollIntervalNs = 50_000_000
        options.minIntervalNs = 50_000_000
        options.quietNs = 0
        let watcher = try CatalogWatcher(options: options, initial: initial)
        defer { watcher.stop() }
        var it = watcher.events.makeAsyncIterator()

        try Self.dump(["a", "c"]).write(toFile: path, atomically: true, encoding: .utf8)
        guard case .changing = try await next(&it) else { Issue.record("expected .changing"); return }
        guard case .refreshed(let r) = try await next(&it) else { Issue.record("expected .refreshed"); return }
        #expect(r.changes == CatalogChanges(added: ["ns/c"], removed: ["ns/b"]))
        #expect(r.trigger == "file" && r.services.services.map(\.name).sorted() == ["a", "c"])

        try String(Self.dump(["a", "c", "d"]).prefix(60)).write(toFile: path, atomically: true, encoding: .utf8)
        guard case .changing = try await next(&it) else { Issue.record("expected .changing"); return }
        guard case .unchanged = try await next(&it) else { Issue.record("expected .unchanged"); return }
        guard case .failed(let message, _) = try await next(&it) else { Issue.record("expected .failed"); return }
        #expect(message.contains("keeping the previous catalog") && message.contains(path))

        try Self.dump(["a", "c", "d"]).write(toFile: path, atomically: true, encoding: .utf8)
        var refreshed: CatalogRefresh?
        while refreshed == nil {
            if case .refreshed(let r) = try await next(&it) { refreshed = r }
        }
        #expect(refreshed?.changes == CatalogChanges(added: ["ns/d"]))
    }

    @Test func changesNameAddedRemovedAndChangedServicesOnce() {
        let a = Service(namespace: "x", name: "a", type: .clusterIP, clusterIP: IPAddress("10.0.0.1"), ports: [])
        var a6 = a
        a6.clusterIP = IPAddress("fd00::1")
        var a2 = a
        a2.externalTrafficPolicy = .local
        let b = Service(namespace: "x", name: "b", type: .clusterIP, clusterIP: IPAddress("10.0.0.2"), ports: [])
        let c = CatalogChanges.between([a, a6, b], [a2, a6])
        #expect(c == CatalogChanges(removed: ["x/b"], changed: ["x/a"]))
        #expect(c.summary() == "+0 -1 ~1 Services (removed: x/b; changed: x/a)")
        #expect(CatalogChanges.between([a, a6], [a6, a]).isEmpty)
        // Sorted by id, each once (discovery's output): the one-pass comparison gives the same answer.
        var c2 = b
        c2.name = "c"
        var d = b
        d.name = "d"
        #expect(CatalogChanges.between([a, b, d], [a2, c2, d]) == CatalogChanges(added: ["x/c"], removed: ["x/b"], changed: ["x/a"]))
        #expect(CatalogChanges.between([], [a, b]) == CatalogChanges(added: ["x/a", "x/b"]))
    }
}
