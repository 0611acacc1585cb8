import SrcipCore
import SrcipMetrics
import Testing

/// The Prometheus text exposition format as srcip writes it, and the label cardinality bound.
struct ExpositionTests {
    @Test func helpAndTypeLinesPrecedeSamplesAndEmptyFamiliesKeepTheirType() {
        let text = Exposition.render([
            MetricFamily(name: "a_total", help: "A.", kind: .counter, samples: [.init([.init("x", "1")], 3), .init([.init("x", "2")], 4)]),
            MetricFamily(name: "b", help: "B.", kind: .gauge, samples: []),
        ])
        #expect(text == """
            # HELP a_total A.
            # TYPE a_total counter
            a_total{x="1"} 3
            a_total{x="2"} 4
            # HELP b B.
            # TYPE b gauge

            """)
    }

    @Test func labelValuesAndHelpAreEscaped() {
        #expect(Exposition.escapeLabelValue(#"a\b"c"# + "\nd") == #"a\\b\"c\nd"#)
        #expect(Exposition.escapeHelp(#"x\y"# + "\n\"") == #"x\\y\n""#)
        let line = Exposition.render([MetricFamily(name: "m", help: "h", kind: .gauge,
                                                   samples: [.init([.init("v", "q\"\n\\")], 1)])]).split(separator: "\n").last
        #expect(line == #"m{v="q\"\n\\"} 1"#)
    }

    @Test func valuesAreIntegersWhenIntegralAndSpecialsAreSpelledAsPrometheusReadsThem() {
        #expect(Exposition.format(0) == "0")
        #expect(Exposition.format(18_446_744_073.0) == "18446744073")
        #expect(Exposition.format(0.25) == "0.25")
        #expect(Exposition.format(.infinity) == "+Inf")
        #expect(Exposition.format(-.infinity) == "-Inf")
        #expect(Exposition.format(.nan) == "NaN")
        #expect(Exposition.format(1e300).contains("e+300"))
    }

    @Test func metricNamesAreValidated() {
        #expect(Exposition.isValidName("srcip_flows_total"))
        #expect(Exposition.isValidName("a:b_1"))
        #expect(!Exposition.isValidName("1a"))
        #expect(!Exposition.isValidName("a-b"))
        #expect(!Exposition.isValidName(""))
    }

    @Test func boundedLabelKeepsTheFirstValuesThenFoldsTheRestIntoOther() {
        var label = BoundedLabel(limit: 2)
        #expect(label.map("a") == "a")
        #expect(label.map("b") == "b")
        #expect(label.map("c") == "other")
        #expect(label.map("a") == "a")
        #expect(label.map("d") == "other")
        #expect(label.overflowed == 2)
    }
}
