import Foundation
import Synchronization
import SrcipSystem

/// Follows the Service catalog while a trace runs: re-reads it when kube-proxy's rules change (nf_tables netlink
/// notifications for nftables mode and iptables-nft; a once-a-second digest of the legacy tables when legacy tables
/// exist) or when a `--services FILE` changes (device, inode, size, mtime). On iptables-nft only the chains the
/// notifications name are listed again (`IPTablesModel`); in nftables mode the notifications themselves are applied
/// to the kept kube-proxy tables (`NFTablesFollower`, no `nft` process); everything else is a full read. Bursts are debounced: a read starts once
/// the changes have been quiet for `quietNs` (or have lasted `maxDelayNs`), at most once per `minIntervalNs`.
/// Each noticed change is announced (`.changing`) and then resolved: `.refreshed`, or `.unchanged` when the read
/// equals the previous catalog or fails (the previous catalog stays until the next change; failures are also
/// reported as `.failed`, rate-limited). Runs on its own thread; `events` ends after `stop()` or when its consumer
/// goes away.
public final class CatalogWatcher: Sendable {
    /// Timing and what to read.
    public struct Options: Sendable {
        public var source: ServiceSource
        public var localNodeName: String?
        /// Watch and read this named network namespace instead of the current one (the benchmark uses it).
        public var netns: String?
        public var minIntervalNs: UInt64 = 1_000_000_000
        public var quietNs: UInt64 = 150_000_000
        public var maxDelayNs: UInt64 = 1_000_000_000
        /// How often the dump file and the legacy tables are checked.
        public var pollIntervalNs: UInt64 = 1_000_000_000
        /// At most one failure report per this interval.
        public var warnIntervalNs: UInt64 = 30_000_000_000
        /// The first change after this long since the last full read is read in full, even when the notifications
        /// name what changed (a safety net; lost notifications already force a full read).
        public var resyncIntervalNs: UInt64 = 600_000_000_000

        public init(source: ServiceSource, localNodeName: String? = nil, netns: String? = nil) {
            self.source = source
            self.localNodeName = localNodeName
            self.netns = netns
        }
    }

    /// Refreshes and failures, in order.
    public let events: AsyncStream<CatalogWatchEvent>
    private let state = WatchState()
    private let thread: DedicatedThread

    /// Starts watching; `initial` is the catalog already in use (changes are reported against it).
    /// Throws when the netlink socket cannot be opened (kube-proxy sources only).
    public init(options: Options, initial: DiscoveredServices?) throws {
        let (stream, continuation) = AsyncStream<CatalogWatchEvent>.makeStream(bufferingPolicy: .bufferingNewest(64))
        events = stream
        var notifications: NFTablesNotifications?
        var dumper: NFTablesNetlinkDumper?
        if case .file = options.source {} else if options.source != .none {
            let open = { () throws -> (NFTablesNotifications, NFTablesNetlinkDumper?) in
                (try NFTablesNotifications(), try NFTablesNetlinkDumper())
            }
            if let netns = options.netns {
                (notifications, dumper) = try NetworkNamespace.run(named: netns) { try open() }
            } else {
                (notifications, dumper) = try open()
            }
        }
        let loop = WatchLoop(options: options, previous: initial, notifications: notifications, dumper: dumper)
        let state = state
        continuation.onTermination = { _ in state.stopped.store(true, ordering: .relaxed) }
        thread = try DedicatedThread {
            var loop = loop
            loop.run(state) { continuation.yield($0) }
            continuation.finish()
        }
    }

    deinit {
        stop()
        thread.join()
    }

    /// Ends the watch within about 100 ms.
    public func stop() { state.stopped.store(true, ordering: .relaxed) }

    /// Catalog reads done so far (refreshes, unchanged reads and failures).
    public var readCount: Int { state.reads.load(ordering: .relaxed) }

    /// Of `readCount`, the reads that listed only the changed chains (iptables-nft) or applied the notifications
    /// (nftables mode) instead of reading every rule.
    public var incrementalReadCount: Int { state.incrementalReads.load(ordering: .relaxed) }

    /// Of `incrementalReadCount`, the reads that re-assembled only the Services the changed chains touch.
    public var partialReadCount: Int { state.partialReads.load(ordering: .relaxed) }

    /// iptables-nft: chains listed again with `iptables -S` so far (the others were applied from notifications).
    public var listedChainCount: Int { state.listedChains.load(ordering: .relaxed) }
}

/// What the watcher thread and its owner share.
private final class WatchState: Sendable {
    let stopped = Atomic<Bool>(false)
    let reads = Atomic<Int>(0)
    let incrementalReads = Atomic<Int>(0)
    let partialReads = Atomic<Int>(0)
    let listedChains = Atomic<Int>(0)
}

/// The watcher thread's state: what changed since when, and the last catalog read.
private struct WatchLoop: Sendable {
    let options: CatalogWatcher.Options
    var previous: DiscoveredServices?
    let notifications: NFTablesNotifications?
    var dirtySinceNs: UInt64?
    var dirtyTrigger = ""
    var lastChangeNs: UInt64 = 0
    var lastReadNs: UInt64 = 0
    var lastPollNs: UInt64 = 0
    var fileStamp: FileStamp?
    var legacyDigest: Int?
    var lastWarnNs: UInt64?
    var suppressed = 0
    /// What the notifications named since the last read.
    var pending = NFTablesChanges()
    /// The iptables rules of the last read, when it was an iptables read (kept to follow changes chain by chain).
    var iptables: IPTablesModel?
    /// The rule messages of iptables' nat and filter chains since the last read (kept while `iptables` is).
    var ruleLog = IPTablesRuleLog()
    var lastFullReadNs: UInt64 = 0
    /// nftables mode: the kube-proxy tables kept from the notifications, and the socket that dumps them.
    var nftables = NFTablesFollower()
    let dumper: NFTablesNetlinkDumper?

    init(options: CatalogWatcher.Options, previous: DiscoveredServices?, notifications: NFTablesNotifications?,
         dumper: NFTablesNetlinkDumper?) {
        self.options = options
        self.previous = previous
        self.notifications = notifications
        self.dumper = dumper
        if case .file(let path) = options.source { fileStamp = FileStamp(path: path) }
        if notifications != nil, options.netns == nil { legacyDigest = LegacyRulesDigest.current() }
        lastPollNs = monotonicNs()
    }

    mutating func run(_ state: WatchState, report: (CatalogWatchEvent) -> Void) {
        while !state.stopped.load(ordering: .relaxed) {
            var p = pollfd(fd: notifications?.fd ?? -1, events: Int16(POLLIN), revents: 0)
            _ = poll(&p, 1, 100)
            let now = monotonicNs()
            let wasDirty = dirtySinceNs != nil
            if let n = notifications {
                let c = n.drain {
                    nftables.feed($0)
                    if iptables != nil { ruleLog.feed($0) }
                }
                if c.unknown { nftables.markStale("notifications lost") }
                if !c.isEmpty {
                    pending.formUnion(c)
                    changed("nf_tables", at: now)
                }
            }
            if now &- lastPollNs >= options.pollIntervalNs {
                lastPollNs = now
                pollFileAndLegacy(now)
            }
            if !wasDirty, let since = dirtySinceNs { report(.changing(sinceNs: since)) }
            guard let since = dirtySinceNs, now &- lastReadNs >= options.minIntervalNs,
                  now &- lastChangeNs >= options.quietNs || now &- since >= options.maxDelayNs else { continue }
            lastReadNs = now
            state.reads.add(1, ordering: .relaxed)
            read(validFromNs: since, now: now, state: state, report: report)
        }
    }

    private mutating func changed(_ trigger: String, at ns: UInt64) {
        if dirtySinceNs == nil { dirtySinceNs = ns; dirtyTrigger = trigger }
        lastChangeNs = ns
    }

    private mutating func pollFileAndLegacy(_ now: UInt64) {
        if case .file(let path) = options.source {
            let stamp = FileStamp(path: path)
            if stamp != fileStamp, stamp != nil {
                // The change happened after the previous check; its mtime says when exactly.
                let age = UInt64(max(0, Date().timeIntervalSince1970 - Double(stamp!.modifiedSec) - Double(stamp!.modifiedNsec) / 1e9) * 1e9)
                changed("file", at: now &- min(age, options.pollIntervalNs))
            }
            fileStamp = stamp ?? fileStamp
        } else if notifications != nil, options.netns == nil {
            let digest = LegacyRulesDigest.current()
            if digest != legacyDigest, digest != nil {
                pending.unknown = true   // legacy changes are not named: read everything
                changed("iptables-legacy", at: now)
            }
            legacyDigest = digest ?? legacyDigest
        }
    }

    /// iptables-nft: applies the changed chains to the kept rules when the notifications name them all; otherwise
    /// (and every `resyncIntervalNs`) reads everything.
    private mutating func follow(now: UInt64, state: WatchState) throws -> DiscoveredServices {
        let changes = pending
        pending = NFTablesChanges()
        if let found = try followNFTables(changes, now: now, state: state) { return found }
        let tools = ServiceDiscovery.Tools(netns: options.netns)
        let log = ruleLog
        ruleLog.reset()
        if var model = iptables, now &- lastFullReadNs < options.resyncIntervalNs {
            iptables = nil
            let partial = model.partialReassemblies, listed = model.listedChains
            let dumper = dumper
            let applied = try model.apply(changes, log: log, generation: { try? dumper?.generation() }, tools: tools)
            state.listedChains.add(model.listedChains - listed, ordering: .relaxed)
            if applied {
                var found = model.services()
                if options.source == .iptables || found.hasKubeProxyRules {
                    iptables = model
                    state.incrementalReads.add(1, ordering: .relaxed)
                    if model.partialReassemblies > partial { state.partialReads.add(1, ordering: .relaxed) }
                    if options.source == .auto { found.source += " (auto)" }
                    return found
                }
            }
        }
        lastFullReadNs = now
        let found = try discover()
        seedNFTables(after: found)
        return found
    }

    /// nftables mode: the Services of the kept tables, when every change since the last read was applied to them.
    private mutating func followNFTables(_ changes: NFTablesChanges, now: UInt64, state: WatchState) throws -> DiscoveredServices? {
        guard nftables.isUsable, !changes.unknown, now &- lastFullReadNs < options.resyncIntervalNs else { return nil }
        var found = try nftables.services()
        if options.source == .auto {
            guard found.hasKubeProxyRules else { return nil }
            found.source += " (auto)"
        }
        state.incrementalReads.add(1, ordering: .relaxed)
        return found
    }

    /// After a full read that found kube-proxy's nftables rules, dumps its tables to follow them from here on.
    private mutating func seedNFTables(after found: DiscoveredServices) {
        guard let dumper, options.source == .nftables || (found.hasKubeProxyRules && found.structures.isSubset(of: .nftables)) else {
            return nftables.markStale("not in nftables mode")
        }
        do {
            try nftables.seed(dumper)
        } catch {
            nftables.markStale("\(error)")
        }
    }

    /// `auto` re-reads only the mode it found last time (half the work: one dump and parse), and looks at both
    /// again when that mode's kube-proxy rules are gone. iptables reads keep their rules in `iptables`.
    private mutating func discover() throws -> DiscoveredServices {
        iptables = nil
        let tools = ServiceDiscovery.Tools(netns: options.netns)
        let options = options
        let read = { (s: ServiceSource) in try ServiceDiscovery.discover(s, localNodeName: options.localNodeName, netns: options.netns) }
        if options.source == .iptables {
            let model = try ServiceDiscovery.readIPTables(tools)
            iptables = model
            return model.services()
        }
        guard options.source == .auto, let p = previous, p.structures.isSubset(of: .nftables) || p.structures.isSubset(of: .iptables),
              p.hasKubeProxyRules else { return try read(options.source) }
        var found: DiscoveredServices
        if p.structures.isSubset(of: .iptables) {
            let model = try ServiceDiscovery.readIPTables(tools)
            found = model.services()
            if found.hasKubeProxyRules { iptables = model }
        } else {
            found = try read(.nftables)
        }
        guard found.hasKubeProxyRules else {
            iptables = nil
            return try read(.auto)
        }
        found.source += " (auto)"
        return found
    }

    private mutating func read(validFromNs: UInt64, now: UInt64, state: WatchState, report: (CatalogWatchEvent) -> Void) {
        do {
            let found = try follow(now: now, state: state)
            dirtySinceNs = nil
            guard found != previous else { return report(.unchanged) }
            let changes = CatalogChanges.between(previous?.services ?? [], found.services)
            previous = found
            report(.refreshed(CatalogRefresh(services: found, validFromNs: validFromNs, changes: changes, trigger: dirtyTrigger)))
        } catch {
            // Keep the old catalog until the next change (a file caught mid-write is read again when its writer finishes).
            dirtySinceNs = nil
            report(.unchanged)
            if let last = lastWarnNs, now &- last < options.warnIntervalNs {
                suppressed += 1
                return
            }
            lastWarnNs = now
            report(.failed("Services not re-read (\(dirtyTrigger) change): \(error); keeping the previous catalog", suppressed: suppressed))
            suppressed = 0
        }
    }
}
