/// The objects of one `kube-proxy` table, by name.
struct NFTablesKubeProxyTable {
    let family: String
    var chains: Set<String> = []
    var rules: [String: [JSONNode]] = [:]
    var maps: [String: JSONNode] = [:]
    var sets: [String: JSONNode] = [:]

    init(family: String) { self.family = family }

    mutating func add(kind: String, body: JSONNode) throws {
        switch kind {
        case "chain": chains.insert(try body.require("name").string())
        case "rule": rules[try body.require("chain").string(), default: []].append(body)
        case "map": maps[try body.require("name").string()] = body
        case "set": sets[try body.require("name").string()] = body
        default: break
        }
    }

    /// Elements of a set or map: `(key, value)`; the key unwrapped from `{"elem": {"val": …, "comment": …}}`.
    func elements(_ obj: JSONNode?) throws -> [(key: JSONNode, value: JSONNode?, comment: String?)] {
        guard let elem = obj?["elem"] else { return [] }
        return try elem.array().map { e in
            var key = e
            var value: JSONNode?
            let pair = e.elements
            if pair.count == 2, obj?["map"] != nil {
                key = pair[0]
                value = pair[1]
            }
            var comment: String?
            if let wrapped = key["elem"] {
                comment = wrapped["comment"]?.stringValue
                key = try wrapped.require("val")
            }
            return (key, value, comment)
        }
    }
}
