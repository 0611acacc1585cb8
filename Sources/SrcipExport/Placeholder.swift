import SrcipCore
