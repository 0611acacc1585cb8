/// Judging flows honestly on a node whose rules change: a flow that started while a Service change was in progress
/// (noticed but not yet read, or possibly already in force but not yet noticed) may have met the rules before the
/// change, after it, or a step between; and a REJECT whose ICMP the kernel's rate limit suppressed looks like a DROP.
extension FlowCorrelator {
    /// The note on a flow the catalog before and after a change judge differently and neither describes.
    public static let catalogChangingNote = "started while the Service rules were changing: not checkable against the catalog before or after the change"
    /// The note on a flow whose catalog version was dropped (more changes while it was open than the limit keeps).
    public static let catalogLostNote = "its Service catalog version was no longer kept (more changes while it was open than "
        + "CorrelatorConfig.maxCatalogVersions): not checkable"
    /// The note on a `dropped` flow where a REJECT was expected while the kernel suppressed ICMP errors.
    public static let rejectSuppressedNote = "REJECT expected but nothing came back while the kernel's ICMP rate limit "
        + "suppressed errors (net.ipv4.icmp_ratelimit, icmp_msgs_per_sec): a REJECT without its ICMP cannot be told from a DROP"

    /// The catalog versions to compare for a flow started at `start` (version `i` valid then): the change to `i` was
    /// still being read, or the next change was noticed within the notice slack after the start.
    func changeWindow(startingAt start: UInt64, index i: Int) -> (before: Int, after: Int)? {
        if i > 0, catalogVersions[i].readAtNs > 0, start <= catalogVersions[i].readAtNs { return (i - 1, i) }
        let next = i + 1
        if next < catalogVersions.count, catalogVersions[next].readAtNs > 0,
           start &+ config.catalogNoticeSlackNs >= catalogVersions[next].validFromNs {
            return (i, next)
        }
        return nil
    }

    /// `rec` (built with version `primary`) judged against both catalogs of a change: as documented when either
    /// catalog's expectation holds (noted when it is the other one); a mismatch when both catalogs expect the same;
    /// otherwise not checkable (`expectationMet` nil, `catalogChangingNote`), so `--check` counts it as undecided.
    func judgedAcrossChange(_ st: FlowState, _ rec: FlowRecord, before: Int, after: Int, primary: Int) -> FlowRecord {
        guard rec.expectationMet != true else { return rec }
        let otherIndex = primary == after ? before : after
        let other = builder.record(st, icmpFromNode: icmpFromNode, catalog: catalogVersions[otherIndex].catalog)
        if other.expectationMet == true, other.verdict != .unknown {
            var r = other
            let which = otherIndex == after ? "after" : "before"
            r.reason = Self.appending("started while the Service rules were changing: as documented by the catalog \(which) the change", to: r.reason)
            return r
        }
        guard rec.service != nil, rec.verdict != .unknown else { return rec }
        if other.service == rec.service, other.expected == rec.expected { return rec }
        var r = rec
        r.expectationMet = nil
        r.reason = Self.appending(Self.catalogChangingNote, to: r.reason)
        return r
    }

    /// Records that the kernel suppressed `count` ICMP errors between `fromNs` and `toNs` (CLOCK_MONOTONIC; the
    /// node's `Icmp OutRateLimitGlobal`/`OutRateLimitHost` counters rose). Kept while a flow of that time may still end.
    public mutating func noteICMPRateLimited(count: UInt64, fromNs: UInt64, toNs: UInt64) {
        guard count > 0, toNs >= fromNs else { return }
        icmpSuppressed.append(ICMPSuppression(fromNs: fromNs, toNs: toNs, count: count))
        let keepFrom = toNs > config.idleTimeoutNs + 60_000_000_000 ? toNs - config.idleTimeoutNs - 60_000_000_000 : 0
        if let first = icmpSuppressed.firstIndex(where: { $0.toNs >= keepFrom }), first > 0 {
            icmpSuppressed.removeFirst(first)
        }
        if icmpSuppressed.count > 65_536 { icmpSuppressed.removeFirst(icmpSuppressed.count - 65_536) }
    }

    /// A flow `dropped` where a REJECT was expected while the kernel was suppressing ICMP errors (its counters rose in
    /// an interval overlapping the flow, widened by the reject window): the verdict stays `dropped` (nothing came
    /// back), the expectation `rejected`, and the flow is not checkable (`rejectSuppressedNote`). Without that
    /// evidence it stays a mismatch.
    func suppressedRejectChecked(_ rec: FlowRecord, _ st: FlowState) -> FlowRecord {
        guard rec.verdict == .dropped, rec.expected == .rejected, rec.expectationMet == false, !icmpSuppressed.isEmpty,
              let start = st.segments.map(\.firstNs).min() else { return rec }
        let end = (st.segments.map(\.lastNs).max() ?? start) &+ config.rejectWindowNs
        guard icmpSuppressed.contains(where: { $0.fromNs <= end && $0.toNs &+ config.rejectWindowNs >= start }) else { return rec }
        var r = rec
        r.expectationMet = nil
        r.reason = Self.appending(Self.rejectSuppressedNote, to: r.reason)
        return r
    }

    static func appending(_ note: String, to reason: String?) -> String {
        (reason.map { $0 + "; " } ?? "") + note
    }
}

/// ICMP errors the kernel's rate limit suppressed within one sampling interval (CLOCK_MONOTONIC).
struct ICMPSuppression: Hashable, Sendable {
    var fromNs: UInt64
    var toNs: UInt64
    var count: UInt64
}
