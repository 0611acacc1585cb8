import SrcipSystem

/// The network-namespace runner lives in SrcipSystem (shared with the lab); this name keeps SrcipKernel's
/// callers and users (`NetworkNamespace.run(path:)`, `.run(fd:)`, `.openCurrent()`) unchanged.
public typealias NetworkNamespace = SrcipSystem.NetworkNamespace
