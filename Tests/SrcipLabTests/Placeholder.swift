import Testing
@testable import SrcipLab
