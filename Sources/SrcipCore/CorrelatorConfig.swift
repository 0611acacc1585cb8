/// Limits and windows of the flow correlator.
public struct CorrelatorConfig: Sendable, Hashable {
    /// Live flows kept at most; beyond it the least recently active flow is finished early (counted as evicted).
    public var maxLiveFlows: Int
    /// A flow with no record for this long (by observation time) is finished.
    public var idleTimeoutNs: UInt64
    /// Ingress and egress first packets with equal fingerprints join only if seen this close together.
    public var fingerprintWindowNs: UInt64
    /// Finished flows remembered to recognise late records (END repeated, trailing ACKs).
    public var finishedMemory: Int
    /// An ICMP error or RST from the node this close to a request marks it `rejected`.
    public var rejectWindowNs: UInt64
    /// A TCP flow whose every view has ended (FIN/RST) is written only once it has carried no packet for this long,
    /// so the final ACKs and retransmissions after the first FIN/RST are counted; 0: written at once.
    public var closeLingerNs: UInt64 = 0
    /// Service catalog versions kept for live flows that started under them (the newest is always kept).
    public var maxCatalogVersions = 32
    /// A flow its start's catalog cannot attribute takes a catalog noticed at most this long after its start.
    public var catalogGraceNs: UInt64 = 2_000_000_000
    /// How long before a change was noticed the rules may already have changed (the watcher's wake-up and any read in
    /// progress delay the notice): a flow started that close before it is judged against both catalogs.
    public var catalogNoticeSlackNs: UInt64 = 1_000_000_000
    /// Finished flows held back at most while a Service change is being read, and for how long at most.
    public var maxHeldFlows = 65_536
    /// New flows per second (observation time) traced in full; past it only a sample is (`NewFlowSampler`), the rest
    /// counted in `CorrelatorStats.newFlowsSampledOut`. 0: every flow.
    public var maxNewFlowsPerSecond = 0
    public var catalogHoldNs: UInt64 = 10_000_000_000

    public init(maxLiveFlows: Int = 262_144, idleTimeoutNs: UInt64 = 120_000_000_000, fingerprintWindowNs: UInt64 = 1_000_000_000,
                finishedMemory: Int = 65_536, rejectWindowNs: UInt64 = 2_000_000_000) {
        self.maxLiveFlows = max(1, maxLiveFlows)
        self.idleTimeoutNs = idleTimeoutNs
        self.fingerprintWindowNs = fingerprintWindowNs
        self.finishedMemory = max(0, finishedMemory)
        self.rejectWindowNs = rejectWindowNs
    }
}

/// What the correlator did with its input; every dropped, evicted or unmatched record is counted here.
public struct CorrelatorStats: Sendable, Hashable {
    public var observations: UInt64 = 0
    public var flowsCreated: UInt64 = 0
    /// Flows emitted, for any reason (the sum of the next five).
    public var flowsFinished: UInt64 = 0
    public var flowsEnded: UInt64 = 0
    public var flowsIdledOut: UInt64 = 0
    public var flowsEvicted: UInt64 = 0
    public var flowsSuperseded: UInt64 = 0
    public var flowsFlushed: UInt64 = 0
    /// Two partial flows found to be one connection and merged (out-of-order arrival).
    public var flowsMerged: UInt64 = 0
    /// Views whose packet/byte counts were replaced by the live BPF counters when the flow was written.
    public var liveCountReads: UInt64 = 0
    public var fingerprintJoins: UInt64 = 0
    /// Fingerprint matches refused (outside the window, or the partner already had that view).
    public var fingerprintRejected: UInt64 = 0
    public var conntrackChanged: UInt64 = 0
    /// Records for a flow that had already been emitted (END repeated, trailing ACK after FIN); dropped.
    public var lateRecords: UInt64 = 0
    /// Records whose counters went backwards (arrived out of order); their counters were ignored.
    public var staleRecords: UInt64 = 0
    /// END/EXPIRED repeated for a view already ended.
    public var duplicateEnds: UInt64 = 0
    /// Flows having only reply views (the request was never seen); written only when a conntrack entry showed the request.
    public var unmatchedReplies: UInt64 = 0
    /// Finished-flow memory full: the oldest entry was forgotten.
    public var finishedMemoryEvictions: UInt64 = 0
    public var liveFlows: Int = 0
    /// Times the slot pool and indexes were shrunk to the live flows after a flood (`compactStorage`).
    public var storageCompactions: UInt64 = 0
    /// Refreshed Service catalogs installed (`update(catalog:validFromNs:)`).
    public var catalogUpdates: UInt64 = 0
    /// Interim records written for flows still open (`FlowCorrelator.interimRecords`); not counted in `flowsFinished`.
    public var interimRecords: UInt64 = 0
    /// New connections not traced because they came faster than `CorrelatorConfig.maxNewFlowsPerSecond`.
    public var newFlowsSampledOut: UInt64 = 0
    /// Records of those connections (every view, reply and END), dropped before correlation.
    public var recordsSampledOut: UInt64 = 0
    /// Fewest flows traced while sampling: 1 in this many new flows (1: never sampled).
    public var samplingDivisorMax: UInt64 = 1

    public init() {}
}
