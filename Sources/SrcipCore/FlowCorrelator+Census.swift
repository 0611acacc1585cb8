/// Sizes of the correlator's long-lived collections, to check that memory stays bounded under steady load.
public struct CorrelatorCensus: Sendable, Hashable, CustomStringConvertible {
    public var slots = 0
    public var freeSlots = 0
    public var tupleIndex = 0
    public var conntrackIndex = 0
    public var fingerprintIndex = 0
    public var finishedRing = 0
    public var finishedTuples = 0
    public var finishedConntrack = 0
    public var icmpFromNode = 0
    public var closingQueue = 0
    public var catalogVersions = 0
    public var parked = 0
    public var icmpSuppressed = 0
    public var reusedTupleFloors = 0

    public var description: String {
        "slots \(slots) (free \(freeSlots)) tuples \(tupleIndex) cts \(conntrackIndex) fingerprints \(fingerprintIndex) "
            + "finished \(finishedRing)/\(finishedTuples)/\(finishedConntrack) icmp \(icmpFromNode) closing \(closingQueue) "
            + "catalogs \(catalogVersions) parked \(parked) suppressed \(icmpSuppressed) floors \(reusedTupleFloors)"
    }
}

extension FlowCorrelator {
    /// How many entries every long-lived collection holds now.
    public var census: CorrelatorCensus {
        var c = CorrelatorCensus()
        c.slots = slots.count
        c.freeSlots = freeSlots.count
        c.tupleIndex = byTuple.count
        c.conntrackIndex = byCt.count
        c.fingerprintIndex = byFingerprint.count
        (c.finishedRing, c.finishedTuples, c.finishedConntrack) = finished.counts
        c.icmpFromNode = icmpFromNode.count
        c.closingQueue = closingQueue.count
        c.catalogVersions = catalogVersions.count
        c.parked = parked.count
        c.icmpSuppressed = icmpSuppressed.count
        c.reusedTupleFloors = reusedTupleFloor.count
        return c
    }
}
