/// Service catalog versions: a flow is attributed with the catalog that was valid when it started, so a Service
/// deleted after a flow started still names that flow, and one added later names only flows that start after it.
extension FlowCorrelator {
    /// One catalog and the CLOCK_MONOTONIC time from which it describes the node's rules.
    struct CatalogVersion {
        var validFromNs: UInt64
        var catalog: ServiceCatalog
        /// When the catalog was read and installed (0: not a change, e.g. the first catalog). From `validFromNs` minus
        /// the notice slack until then the rules may have been the previous catalog's, this one's or a step between.
        var readAtNs: UInt64 = 0
        /// When it really became valid: `validFromNs` before pruning made the oldest kept version cover every
        /// earlier start. A flow that started before this has lost its catalog (`catalogLostNote`).
        var coversFromNs: UInt64 = 0
    }

    /// Installs a refreshed catalog, valid for flows that start at or after `validFromNs` (CLOCK_MONOTONIC: when
    /// the change was first noticed), read by `readAtNs` (CLOCK_MONOTONIC; default: the latest observation time).
    /// Flows started between the two, or up to `CorrelatorConfig.catalogNoticeSlackNs` before the notice, are judged
    /// against this catalog and the previous one (see `judgedAcrossChange`). Older versions are kept while a live flow started in their time, at most
    /// `CorrelatorConfig.maxCatalogVersions` (beyond that, flows older than the oldest kept version are not checkable).
    /// The catalog's cluster CIDRs (when known) replace the context's, and `nodeAddresses` are added to it, for every
    /// flow finished from now on.
    public mutating func update(catalog: ServiceCatalog, validFromNs: UInt64, nodeAddresses: Set<IPAddress>? = nil,
                                readAtNs: UInt64? = nil) {
        if catalogVersions.isEmpty { catalogVersions = [CatalogVersion(validFromNs: 0, catalog: context.catalog)] }
        let from = max(validFromNs, catalogVersions.last!.validFromNs)
        let readAt = max(readAtNs ?? nowNs, from)
        if catalogVersions.last!.validFromNs == from {
            catalogVersions[catalogVersions.count - 1].catalog = catalog
            if catalogVersions.count > 1 { catalogVersions[catalogVersions.count - 1].readAtNs = readAt }
        } else {
            catalogVersions.append(CatalogVersion(validFromNs: from, catalog: catalog, readAtNs: readAt, coversFromNs: from))
        }
        context.catalog = catalog
        if !catalog.clusterCIDRs.isEmpty { context.clusterCIDRs = catalog.clusterCIDRs }
        if let nodeAddresses { context.nodeAddresses.formUnion(nodeAddresses.subtracting(context.localAddresses)) }
        builder = FlowRecordBuilder(context: context, rejectWindowNs: config.rejectWindowNs)
        stats.catalogUpdates += 1
        catalogChangeSettled()
        pruneCatalogVersions()
    }

    /// A change of the Services was noticed at `sinceNs` and is being read: flows that started since then and
    /// finish before the new catalog arrives are held back (not emitted) until `update(catalog:validFromNs:)` or
    /// `catalogChangeSettled()`, so a short connection to a just-added Service is attributed to it.
    public mutating func catalogChangePending(sinceNs: UInt64) {
        if catalogPendingSinceNs == nil { catalogPendingSinceNs = sinceNs }
    }

    /// The change turned out to leave the catalog as it was (or could not be read): held flows are emitted now.
    public mutating func catalogChangeSettled() {
        catalogPendingSinceNs = nil
        let held = parked
        parked.removeAll()
        for (st, why) in held { output.append(finishedRecord(st, why)) }
    }

    /// Flows held back for a catalog, waiting.
    public var heldFlowCount: Int { parked.count }

    /// Holds a finished flow back while a catalog change it may depend on is being read; false to emit it now.
    mutating func park(_ st: FlowState, _ why: FinishReason) -> Bool {
        guard let since = catalogPendingSinceNs, parked.count < config.maxHeldFlows,
              let start = st.segments.map(\.firstNs).min(), start &+ config.catalogGraceNs >= since else { return false }
        parked.append((st, why))
        return true
    }

    /// Emits held flows when the pending change has not been resolved within `catalogHoldNs` (a stuck reader).
    mutating func releaseParkedIfStale() {
        if let since = catalogPendingSinceNs, nowNs > since &+ config.catalogHoldNs { catalogChangeSettled() }
    }

    /// The record of a finished flow, with the reason an early eviction adds.
    func finishedRecord(_ st: FlowState, _ why: FinishReason) -> FlowRecord {
        var rec = record(st)
        switch why {
        case .ended, .superseded: rec.endReason = .endOfFlow
        case .idle: rec.endReason = .idle
        case .evicted: rec.endReason = .lackOfResources
        case .flushed: rec.endReason = .forcedEnd
        }
        if why == .evicted {
            rec.reason = (rec.reason.map { $0 + "; " } ?? "") + "evicted early: live-flow limit \(config.maxLiveFlows) reached"
        }
        return rec
    }

    /// Catalog versions currently kept (1 when the catalog never changed).
    public var catalogVersionCount: Int { max(1, catalogVersions.count) }

    /// The catalog for a flow that started at `startNs`.
    func catalogIndex(startingAt startNs: UInt64) -> Int {
        var lo = 0, hi = catalogVersions.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if catalogVersions[mid].validFromNs <= startNs { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    /// The record of a flow, built with the catalog valid at its start (`FlowState.decidedNs`). A flow that catalog cannot attribute but a
    /// version noticed within `catalogGraceNs` after its start can (a Service added while the change was being
    /// detected) takes that one, but is judged by it only when it behaved as that catalog documents: a flow that
    /// started within the notice slack before the change is then not checkable, an earlier one keeps the catalog
    /// in force at its start (the Service's rules did not exist yet: a RST from the node is no mismatch).
    /// A flow that started while the rules changed is judged against the catalogs before and after the change
    /// (`judgedAcrossChange`); a `dropped` flow where a REJECT was expected is checked for ICMP rate limiting.
    func record(_ st: FlowState) -> FlowRecord {
        guard catalogVersions.count > 1 else {
            return suppressedRejectChecked(builder.record(st, icmpFromNode: icmpFromNode, catalog: context.catalog), st)
        }
        let start = st.decidedNs ?? 0
        let i = catalogIndex(startingAt: start)
        var (rec, used) = attributedRecord(st, start: start, index: i)
        if used > i {
            if start &+ config.catalogNoticeSlackNs >= catalogVersions[used].validFromNs {
                rec = judgedAcrossChange(st, rec, before: i, after: used, primary: used)
            } else if rec.expectationMet == false {
                rec = builder.record(st, icmpFromNode: icmpFromNode, catalog: catalogVersions[i].catalog)
            }
        } else if let change = changeWindow(startingAt: start, index: i) {
            rec = judgedAcrossChange(st, rec, before: change.before, after: change.after, primary: i)
        }
        if i == 0, start < catalogVersions[0].coversFromNs, rec.expectationMet != nil {
            rec.expectationMet = nil
            rec.reason = Self.appending(Self.catalogLostNote, to: rec.reason)
        }
        return suppressedRejectChecked(rec, st)
    }

    /// The record built with the catalog valid at `start` (version `i`), or a later one noticed within the grace,
    /// and the version used.
    private func attributedRecord(_ st: FlowState, start: UInt64, index i: Int) -> (FlowRecord, Int) {
        let rec = builder.record(st, icmpFromNode: icmpFromNode, catalog: catalogVersions[i].catalog)
        guard rec.service == nil else { return (rec, i) }
        var j = i + 1
        while j < catalogVersions.count, catalogVersions[j].validFromNs <= start &+ config.catalogGraceNs {
            let later = builder.record(st, icmpFromNode: icmpFromNode, catalog: catalogVersions[j].catalog)
            if later.service != nil { return (later, j) }
            j += 1
        }
        return (rec, i)
    }

    /// Keeps the newest version, every version superseded less than `catalogHoldNs` ago (a flow that started
    /// before the change may be read, or held, only after it), and every version some live flow started under,
    /// newest first, up to the limit.
    private mutating func pruneCatalogVersions() {
        guard catalogVersions.count > 1 else { return }
        var needed = Set([catalogVersions.count - 1, catalogVersions.count - 2])
        let now = max(nowNs, catalogVersions[catalogVersions.count - 1].validFromNs)
        for k in 0..<(catalogVersions.count - 1) where catalogVersions[k + 1].validFromNs &+ config.catalogHoldNs >= now {
            needed.insert(k)
        }
        for s in slots where s.live {
            guard let start = s.decidedNs else { continue }
            let i = catalogIndex(startingAt: start)
            needed.insert(i)
            if let change = changeWindow(startingAt: start, index: i) { needed.formUnion([change.before, change.after]) }
        }
        let keep = needed.sorted(by: >).prefix(max(1, config.maxCatalogVersions)).sorted()
        guard keep.count < catalogVersions.count else { return }
        var kept = keep.map { catalogVersions[$0] }
        kept[0].validFromNs = 0     // the oldest kept version covers every earlier start
        for k in kept.indices where k == 0 || keep[k - 1] != keep[k] - 1 {
            kept[k].readAtNs = 0    // its predecessor is gone: nothing to compare with
        }
        catalogVersions = kept
    }
}
