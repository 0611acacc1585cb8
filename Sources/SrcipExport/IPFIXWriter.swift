#if canImport(Glibc)
import Glibc
#endif
import SrcipCore

/// Where IPFIX messages go: a file, or a collector over UDP or TCP.
public protocol IPFIXTransport: AnyObject {
    /// Largest message to send (UDP: one datagram below the path MTU).
    var maxMessageBytes: Int { get }
    /// Whether templates must be sent again periodically (UDP, RFC 7011 §8.4).
    var refreshesTemplates: Bool { get }
    /// Sends one whole message; returns false when the message was lost (the transport counts it).
    func send(_ message: [UInt8]) throws(ExportError) -> Bool
    func flush() throws(ExportError)
    /// True when the next message starts a new file or connection (templates must be sent again).
    func reopen() throws(ExportError) -> Bool
    func close() throws(ExportError)
}

/// An IPFIX file (RFC 5655 layout: a stream of messages).
public final class IPFIXFileTransport: IPFIXTransport {
    let sink: FileSink
    public init(sink: FileSink) { self.sink = sink }
    public var maxMessageBytes: Int { 60_000 }
    public var refreshesTemplates: Bool { false }
    public func send(_ message: [UInt8]) throws(ExportError) -> Bool { try sink.write(message); return true }
    public func flush() throws(ExportError) { try sink.flush() }
    public func reopen() throws(ExportError) -> Bool { try sink.reopen(); return true }
    public func close() throws(ExportError) { try sink.close() }
}

/// Writes flow records as IPFIX messages to a file or a collector. Templates (and the options record naming the
/// observation domain) go first, again after a reopen or reconnect, and on UDP every `templateRefreshSeconds`.
public final class IPFIXWriter: FlowRecordWriter {
    private let transport: any IPFIXTransport
    private var encoder: IPFIXEncoder
    private let exportTime: () -> UInt32
    private let templateRefreshSeconds: UInt32
    private var lastTemplates: UInt32?
    /// Messages the transport could not deliver (collector unreachable).
    public private(set) var lostMessages = 0

    public init(transport: any IPFIXTransport, observationDomainID: UInt32, observationDomainName: String = "",
                templateRefreshSeconds: UInt32 = 60, exportTime: @escaping () -> UInt32 = IPFIXWriter.wallClockSeconds) {
        self.transport = transport
        self.encoder = IPFIXEncoder(observationDomainID: observationDomainID, observationDomainName: observationDomainName)
        self.exportTime = exportTime
        self.templateRefreshSeconds = max(1, templateRefreshSeconds)
    }

    public convenience init(sink: FileSink, observationDomainID: UInt32, observationDomainName: String = "",
                            exportTime: @escaping () -> UInt32 = IPFIXWriter.wallClockSeconds) {
        self.init(transport: IPFIXFileTransport(sink: sink), observationDomainID: observationDomainID,
                  observationDomainName: observationDomainName, exportTime: exportTime)
    }

    public convenience init(path: String, mode: FileOpenMode = .truncate, observationDomainID: UInt32,
                            observationDomainName: String = "",
                            exportTime: @escaping () -> UInt32 = IPFIXWriter.wallClockSeconds) throws(ExportError) {
        self.init(sink: try FileSink(path: path, mode: mode), observationDomainID: observationDomainID,
                  observationDomainName: observationDomainName, exportTime: exportTime)
    }

    /// A new file starts with the templates again (sequence numbers continue).
    public func reopen() throws(ExportError) {
        try emit()
        if try transport.reopen() { encoder.resendTemplates() }
    }

    public func write(_ record: FlowRecord) throws(ExportError) {
        encoder.add(record)
        if encoder.pendingBytes >= transport.maxMessageBytes { try emit() }
    }

    /// Writes pending records; on UDP also the templates when the refresh interval has passed.
    public func flush() throws(ExportError) {
        try emit()
        try transport.flush()
    }

    public func close() throws(ExportError) {
        try emit()
        try transport.close()
    }

    private func emit() throws(ExportError) {
        let now = exportTime()
        if transport.refreshesTemplates, lastTemplates.map({ now &- $0 >= templateRefreshSeconds }) ?? true {
            encoder.resendTemplates()
        }
        var lost = false
        while let m = encoder.message(exportTime: now, maxBytes: transport.maxMessageBytes) {
            let templates = m.count >= 20 && m[16] == 0 && m[17] == 2
            if try transport.send(m) {
                if templates { lastTemplates = now }
            } else {
                lostMessages += 1
                lost = true
            }
        }
        // TCP: the next connection starts with the templates.
        if lost, !transport.refreshesTemplates { encoder.resendTemplates() }
    }

    public static func wallClockSeconds() -> UInt32 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt32(truncatingIfNeeded: ts.tv_sec)
    }
}
