import Testing
@testable import SrcipKernel
