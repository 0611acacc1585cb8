import Foundation

extension IPTablesModel.Family {
    /// Applies the logged messages of `chain` to its kept rules without listing it: possible when the chain was
    /// flushed (its deletions equal the keys of the rules kept for it, in order) and refilled by appends, each added
    /// rule being either one of the kept rules (same key) or one `IPTablesRuleText` prints. Nil when the chain must be
    /// listed. A chain the log created (and only appended to) is applied when the kept tables do not have it and
    /// `IPTablesRuleText` prints every rule.
    mutating func replay(_ chain: NFTablesChanges.Object, log: IPTablesRuleLog.Chain?) -> Reread? {
        let name = chain.table + "/" + chain.name
        if let log, log.created { return replayCreated(chain, log: log) }
        guard let log, log.simple, sets.count == 1, let kept = keys[name], let had = sets[0][chain.table]?.rules(chain.name),
              sets[0][chain.table]?.chains[chain.name] != nil, had.count == kept.count, log.deleted.count == kept.count,
              log.deleted.elementsEqual(kept, by: Self.same) else { return nil }
        let added = log.added
        if added.count == kept.count, zip(added, kept).allSatisfy({ Self.same($0.key, $1) }) { return .same }
        var head = 0
        while head < kept.count, head < added.count, Self.same(kept[head], added[head].key) { head += 1 }
        var tail = 0
        while tail < kept.count - head, tail < added.count - head,
              Self.same(kept[kept.count - 1 - tail], added[added.count - 1 - tail].key) { tail += 1 }
        var known: [[UInt8]: Int] = [:]
        for i in head..<(kept.count - tail) { known[kept[i]] = i }
        var rules: [IPTablesRule] = []
        rules.reserveCapacity(added.count)
        for (i, a) in added.enumerated() {
            var rule: IPTablesRule
            if i < head {
                rule = had[i]
            } else if i >= added.count - tail {
                rule = had[had.count - (added.count - i)]
            } else if let k = known[a.key] {
                rule = had[k]
            } else {
                guard let text = IPTablesRuleText.text(ofNewRule: a.message),
                      let r = try? IPTablesRule(table: chain.table, text: Substring(text), line: i + 2, file: IPTablesRuleLog.file) else { return nil }
                rule = r
                translatedRules += 1
            }
            guard rule.chain == chain.name else { return nil }
            rule.line = i + 2   // as `iptables -S CHAIN` numbers it (line 1 declares the chain)
            rules.append(rule)
        }
        sets[0][chain.table]!.rules[chain.name] = rules.isEmpty ? nil : rules
        keys[name] = added.map(\.key)
        listings[name] = nil
        return .changed
    }

    private mutating func replayCreated(_ chain: NFTablesChanges.Object, log: IPTablesRuleLog.Chain) -> Reread? {
        let name = chain.table + "/" + chain.name
        guard log.simple, log.deleted.isEmpty, sets.count == 1, sets[0][chain.table] != nil,
              sets[0][chain.table]?.chains[chain.name] == nil,
              keys[name] == nil else { return nil }
        var rules: [IPTablesRule] = []
        rules.reserveCapacity(log.added.count)
        for (i, a) in log.added.enumerated() {
            guard let text = IPTablesRuleText.text(ofNewRule: a.message),
                  let rule = try? IPTablesRule(table: chain.table, text: Substring(text), line: i + 2, file: IPTablesRuleLog.file),
                  rule.chain == chain.name else { return nil }
            rules.append(rule)
        }
        translatedRules += rules.count
        sets[0][chain.table]!.chains[chain.name] = 0
        sets[0][chain.table]!.rules[chain.name] = rules.isEmpty ? nil : rules
        keys[name] = log.added.map(\.key)
        listings[name] = nil
        return .changed
    }

    /// After `listed` chains were listed: when the log only deleted and then appended rules of a chain, and the
    /// listing has as many rules as were appended, every rule the chain had before was deleted: at the log's last
    /// generation its rules were the appended ones, in order. The listing shows that generation when nothing was
    /// committed since (`current`): their keys are known then. When something was, they are known once the next log
    /// shows that no later commit touched the chain (`confirmKeys`).
    mutating func learnKeys(_ listed: [NFTablesChanges.Object], log: IPTablesRuleLog, current: UInt32?) {
        for chain in listed {
            let name = chain.table + "/" + chain.name
            keys[name] = nil
            guard let generation = log.generation, !log.broken, let l = log.chains[chain], l.simple,
                  let now = sets.first?[chain.table]?.rules(chain.name), now.count == l.added.count else { continue }
            if current == generation {
                keys[name] = l.added.map(\.key)
            } else {
                unconfirmedKeys[name] = l.added.map(\.key)
            }
        }
    }

    /// Keys learned from a listing that may be newer than its log become known when `changed` (everything committed
    /// since that log) does not name their chain, and are dropped when it does.
    mutating func confirmKeys(_ changed: [NFTablesChanges.Object]) {
        guard !unconfirmedKeys.isEmpty else { return }
        let touched = Set(changed.map { $0.table + "/" + $0.name })
        for (name, k) in unconfirmedKeys where !touched.contains(name) { keys[name] = k }
        unconfirmedKeys = [:]
    }

    private static func same(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.count == b.count && a.withUnsafeBytes { x in b.withUnsafeBytes { y in x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 } }
    }
}
