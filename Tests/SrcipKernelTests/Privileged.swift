/// Every file of this target gates privileged tests with SrcipTestSupport's `.privileged` trait.
@_exported import SrcipTestSupport
