/// New-flow sampling (`NewFlowSampler`): the decision for a record that matches no live flow.
extension FlowCorrelator {
    /// Whether the record `o`, which would start a new flow, is traced; a refused one is counted and dropped.
    mutating func admitNewFlow(_ o: Observation, isReply: Bool) -> Bool {
        let ct = o.conntrack
        let original = ct?.original ?? (isReply ? o.tuple.reversed : o.tuple)
        var canStart = o.kind == .new && (ct != nil || !isReply)
        // Without conntrack the egress view of a traced flow has its translated tuple: its first packet's fingerprint
        // finds the ingress view, and it joins that flow whatever its own tuple's hash says.
        // It is no new connection either (not counted toward the limit).
        if ct == nil, canStart, o.fingerprint != FlowCorrelator.zeroFingerprint {
            let key = FingerprintKey(fp: o.fingerprint, proto: o.tuple.proto, v4: o.tuple.src.isIPv4)
            if byFingerprint[key] != nil {
                sampler.forget(original: original)
                return true
            }
            // While sampling, an egress view without a traced ingress view belongs to a refused flow.
            if o.hook == .egress, sampler.isSampling(atNs: nowNs) { canStart = false }
        }
        let admitted = sampler.admit(original: original, canStart: canStart, nowNs: nowNs)
        stats.samplingDivisorMax = sampler.maxDivisor
        if !admitted {
            stats.newFlowsSampledOut = sampler.flowsRefused
            stats.recordsSampledOut = sampler.recordsRefused
        }
        return admitted
    }

    /// Under a flood most records belong to refused connections: a later view of one (a conntrack record whose
    /// original tuple was refused moments ago) is refused here, before the live-flow, conntrack-id and finished-flow
    /// lookups that each miss the cache. Such a record no longer supersedes a stale flow sharing its conntrack id or
    /// tuple (that flow ends when it idles out instead).
    @inline(__always)
    mutating func refusesAgain(_ o: Observation) -> Bool {
        guard let ct = o.conntrack, sampler.refusesAgain(original: ct.original, canStart: o.kind == .new, nowNs: nowNs) else {
            return false
        }
        stats.samplingDivisorMax = sampler.maxDivisor
        stats.recordsSampledOut = sampler.recordsRefused
        return true
    }
}
