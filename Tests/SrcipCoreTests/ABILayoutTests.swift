import CSrcipABI
import Testing
@testable import SrcipCore

@Suite struct ABILayoutTests {
    @Test func structSizesMatchTheHeader() {
        #expect(MemoryLayout<srcip_tuple>.size == 40)
        #expect(MemoryLayout<srcip_fingerprint>.size == 16)
        #expect(MemoryLayout<srcip_record>.size == 240)
        #expect(MemoryLayout<srcip_encap>.size == 48)
        #expect(MemoryLayout<srcip_flow_key>.size == 48)
        #expect(MemoryLayout<srcip_flow_state>.size == 48)
        #expect(MemoryLayout<srcip_config>.size == 16)
        #expect(MemoryLayout<srcip_flow_slot>.size == 64)
        #expect(MemoryLayout<srcip_record>.offset(of: \srcip_record.tuple) == 56)
        #expect(MemoryLayout<srcip_record>.offset(of: \srcip_record.fp) == 96)
        #expect(MemoryLayout<srcip_record>.offset(of: \srcip_record.ct_orig) == Int(SRCIP_RECORD_SHORT))
        #expect(MemoryLayout<srcip_record>.offset(of: \srcip_record.ct_reply) == 152)
        #expect(MemoryLayout<srcip_record>.offset(of: \srcip_record.encap) == Int(SRCIP_RECORD_CT))
        #expect(MemoryLayout<srcip_record>.size == Int(SRCIP_RECORD_FULL))
        #expect(MemoryLayout<srcip_flow_key>.offset(of: \srcip_flow_key.encap) == 5)
        #expect(MemoryLayout<srcip_flow_key>.offset(of: \srcip_flow_key.tuple) == 8)
        #expect(MemoryLayout<srcip_record>.alignment == 8)
    }
}
