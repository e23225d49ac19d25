import ModelInspection
import Testing

@Suite struct FormatTests {
    @Test func fixedDecimals() {
        #expect(Format.fixed(3.14159, 2) == "3.14")
        #expect(Format.fixed(2.005, 0) == "2")
        #expect(Format.fixed(0.05, 1) == "0.1")
        #expect(Format.fixed(-1.25, 1) == "-1.3")
        #expect(Format.fixed(9.999, 2) == "10.00")
        #expect(Format.fixed(-0.001, 2) == "0.00")
    }

    @Test func units() {
        #expect(Format.bytes(98_362_432) == "93.81 MiB")
        #expect(Format.bytes(1023) == "1023 B")
        #expect(Format.bytes(1 << 30) == "1.00 GiB")
        #expect(Format.count(134_515_008) == "134.52 M")
        #expect(Format.grouped(98_362_432) == "98,362,432")
        #expect(Format.grouped(-1000) == "-1,000")
        #expect(Format.grouped(999) == "999")
    }
}
