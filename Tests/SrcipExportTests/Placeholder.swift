import Testing
@testable import SrcipExport
