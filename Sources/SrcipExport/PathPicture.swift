import SrcipCore

/// `srcip merge --format svg|html`: a drawing of the stitched paths, one section per Service, one row per path:
/// client → each node (interfaces in → out, SNAT/DNAT written there) → the pod (and the source it saw), or where
/// the request stopped. The tuple on each arrow is the request as it travelled between the two boxes. Rows are
/// coloured by verdict; a path that broke what Kubernetes documents gets a red dashed frame and ✗.
public enum PathPicture {
    static let boxWidth = 230, gap = 190, rowHeight = 114, sectionHeader = 34, margin = 16, clientWidth = 150

    /// Fill and stroke colours per verdict.
    static func colours(_ v: Verdict) -> (fill: String, stroke: String) {
        switch v {
        case .preserved: return ("#e3f4e1", "#2e7d32")
        case .snat: return ("#fff1dc", "#e07b00")
        case .dropped: return ("#fde2e1", "#c62828")
        case .rejected: return ("#efe3f7", "#7b1fa2")
        case .unknown: return ("#eeeeee", "#616161")
        }
    }

    static func esc(_ s: String) -> String {
        var o = ""
        for c in s {
            switch c {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            default: o.append(c)
            }
        }
        return o
    }

    /// Paths grouped by Service (paths without one last, as "no Service"), in first-seen order.
    static func sections(_ paths: [FlowPath]) -> [(title: String, paths: [FlowPath])] {
        var order: [String] = []
        var groups: [String: [FlowPath]] = [:]
        for p in paths {
            let t = p.service.map { "\($0.id) (\($0.frontend.rawValue), externalTrafficPolicy \($0.externalTrafficPolicy.rawValue))" }
                ?? "no Service (health checks, node traffic)"
            if groups[t] == nil { order.append(t) }
            groups[t, default: []].append(p)
        }
        let sorted = order.filter { !$0.hasPrefix("no Service") } + order.filter { $0.hasPrefix("no Service") }
        return sorted.map { ($0, groups[$0]!) }
    }

    /// The drawing as a standalone SVG document.
    public static func svg(_ paths: [FlowPath]) -> String {
        let secs = sections(paths)
        let maxHops = paths.map(\.hops.count).max() ?? 1
        let width = margin * 2 + clientWidth + (maxHops + 1) * (gap + boxWidth)
        let height = margin * 2 + 30 + secs.reduce(0) { $0 + sectionHeader + $1.paths.count * rowHeight }
        var out = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" \
        font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">
        <defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto">\
        <path d="M0,0 L10,5 L0,10 z" fill="#455a64"/></marker></defs>
        <rect x="0" y="0" width="\(width)" height="\(height)" fill="#ffffff"/>
        <text x="\(margin)" y="\(margin + 14)" font-size="16" font-weight="bold">srcip: \(paths.count) path\(paths.count == 1 ? "" : "s") — \
        client → entry node → backend node → pod, with the tuple on every hop</text>

        """
        var y = margin + 30
        for s in secs {
            out += "<text x=\"\(margin)\" y=\"\(y + 22)\" font-size=\"14\" font-weight=\"bold\" fill=\"#263238\">\(esc(s.title))</text>\n"
            y += sectionHeader
            for p in s.paths {
                out += row(p, y: y)
                y += rowHeight
            }
        }
        return out + "</svg>\n"
    }

    /// One path: a frame coloured by verdict, the client, one box per hop, the end (pod, stop, or the node itself).
    static func row(_ p: FlowPath, y: Int) -> String {
        let (fill, stroke) = colours(p.verdict)
        let broken = p.expectationMet == false
        let ends = p.outcome == .delivered ? 1 : 0
        let frameWidth = clientWidth + (p.hops.count + ends) * (gap + boxWidth) + (ends == 0 ? gap : 0) + 12
        var o = "<g class=\"path\" data-verdict=\"\(p.verdict.rawValue)\">\n"
        o += "<rect x=\"\(margin - 6)\" y=\"\(y)\" width=\"\(frameWidth)\" height=\"\(rowHeight - 10)\" rx=\"8\" fill=\"\(fill)\" "
            + "stroke=\"\(broken ? "#d50000" : stroke)\" stroke-width=\"\(broken ? 3 : 1)\"\(broken ? " stroke-dasharray=\"8 4\"" : "")/>\n"
        var verdictText = p.verdict.rawValue
        if let e = p.expected { verdictText += " — documented \(e.rawValue) " + ExpectationMark.of(p.expectationMet) }
        if let w = p.snatWrittenAt { verdictText += " — source rewritten at \(w)" }
        o += text(margin + 4, y + 16, verdictText, weight: "bold", colour: broken ? "#d50000" : stroke)
        let top = y + 34, boxHeight = 62
        var x = margin + 4
        // Client.
        o += box(x, top, clientWidth, boxHeight, stroke: "#455a64", lines: [("client", "bold"), (p.hops[0].original.src.description, nil)])
        x += clientWidth
        for (i, h) in p.hops.enumerated() {
            o += arrow(x, top + boxHeight / 2, tuple: h.original)
            x += gap
            let stopped = h.verdict == .dropped || h.verdict == .rejected
            var lines: [(String, String?)] = [(h.node, "bold"), ("\(h.inInterface ?? "?") → \(h.outInterface ?? (stopped ? "✗" : "(local)"))", nil)]
            if h.snat, let t = h.translated { lines.append(("SNAT → \(t.src)", "snat")) }
            if h.dnat, let t = h.translated { lines.append(("DNAT → \(Endpoint.format(t.dst, t.dstPort))", nil)) }
            let hopStroke = stopped ? colours(h.verdict).stroke : "#455a64"
            o += "<g class=\"hop\" data-node=\"\(esc(h.node))\">"
            o += box(x, top, boxWidth, boxHeight, stroke: hopStroke, lines: lines, label: i == 0 ? "entry node" : "node")
            o += "</g>\n"
            x += boxWidth
        }
        let last = p.hops[p.hops.count - 1]
        switch p.outcome {
        case .delivered:
            o += arrow(x, top + boxHeight / 2, tuple: p.delivered)
            x += gap
            o += box(x, top, boxWidth, boxHeight, stroke: stroke,
                     lines: [("pod \(Endpoint.format(p.delivered.dst, p.delivered.dstPort))", "bold"), ("saw \(p.backendSawSource)", "saw")],
                     label: "backend")
        case .dropped, .rejected:
            o += text(x + 12, top + boxHeight / 2 + 5, "✗ \(p.outcome.rawValue) at \(p.stoppedAt?.node ?? last.node)", weight: "bold", colour: stroke)
        case .local:
            o += text(x + 12, top + boxHeight / 2 + 5, "ended on \(last.node) (\(Endpoint.format(p.delivered.dst, p.delivered.dstPort)))",
                      weight: nil, colour: "#455a64")
        }
        return o + "</g>\n"
    }

    static func text(_ x: Int, _ y: Int, _ s: String, weight: String?, colour: String, size: Int = 12) -> String {
        "<text x=\"\(x)\" y=\"\(y)\" font-size=\"\(size)\" fill=\"\(colour)\"\(weight.map { " font-weight=\"\($0)\"" } ?? "")>\(esc(s))</text>\n"
    }

    /// A white box with a small caption above and up to three lines; style "snat" and "saw" are highlighted.
    static func box(_ x: Int, _ y: Int, _ w: Int, _ h: Int, stroke: String, lines: [(String, String?)], label: String? = nil) -> String {
        var o = "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(w)\" height=\"\(h)\" rx=\"5\" fill=\"#ffffff\" stroke=\"\(stroke)\" stroke-width=\"1.5\"/>\n"
        if let label { o += text(x + 4, y - 3, label, weight: nil, colour: "#78909c", size: 10) }
        for (i, (s, style)) in lines.prefix(4).enumerated() {
            let colour = style == "snat" ? "#e07b00" : style == "saw" ? "#1565c0" : "#263238"
            o += text(x + 8, y + 15 + i * 14, s, weight: style == nil ? nil : "bold", colour: colour)
        }
        return o
    }

    /// An arrow of `gap` length from (x, y) with the tuple it carries written above and below it.
    static func arrow(_ x: Int, _ y: Int, tuple t: FiveTuple) -> String {
        var o = "<line x1=\"\(x + 2)\" y1=\"\(y)\" x2=\"\(x + gap - 4)\" y2=\"\(y)\" stroke=\"#455a64\" stroke-width=\"1.5\" marker-end=\"url(#arrow)\"/>\n"
        o += text(x + 8, y - 6, Endpoint.format(t.src, t.srcPort), weight: nil, colour: "#37474f", size: 11)
        o += text(x + 8, y + 15, "→ " + Endpoint.format(t.dst, t.dstPort), weight: nil, colour: "#37474f", size: 11)
        return o
    }

    /// A standalone HTML page: a legend and the SVG inline.
    public static func html(_ paths: [FlowPath]) -> String {
        let legend = Verdict.allCases.map { v in
            let (fill, stroke) = colours(v)
            return "<span style=\"background:\(fill);border:1px solid \(stroke);padding:2px 8px;margin-right:6px\">\(v.rawValue)</span>"
        }.joined()
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>srcip paths</title>
        <style>body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;margin:16px;background:#fff;color:#263238}</style></head>
        <body>
        <p>Rows are coloured by verdict: \(legend) A red dashed frame and ✗: the path broke what Kubernetes documents. \
        Each arrow carries the request as it travelled; <b style="color:#e07b00">SNAT → address</b> marks the node that \
        rewrote the source, <b style="color:#1565c0">saw</b> the source the pod received.</p>
        \(svg(paths))</body></html>

        """
    }
}
