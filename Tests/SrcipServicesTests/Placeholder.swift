import Testing
@testable import SrcipServices
