import SrcipCore
import Testing
@testable import SrcipLabCluster

@Suite struct ManifestParsingTests {
    @Test func seedManifestParsesWithoutWarnings() throws {
        let (objects, warnings) = try LabManifest.parse(LabManifest.defaultManifest, source: "seed.yaml")
        #expect(warnings.isEmpty, "\(warnings)")
        #expect(objects.deployments.map(\.name) == ["source-ip-app"])
        #expect(objects.deployments[0].nodeName == "node1")
        #expect(objects.deployments[0].ports == [ManifestContainerPort(name: "http", containerPort: 8080)])
        #expect(objects.services.map(\.name) == ["clusterip", "nodeport", "loadbalancer", "nodeport-local", "loadbalancer-local"])
        let local = try #require(objects.services.first { $0.name == "loadbalancer-local" })
        #expect(local.type == .loadBalancer && local.externalTrafficPolicy == .local)
        #expect(local.ports == [ManifestServicePort(name: nil, proto: .tcp, port: 80, targetPort: .number(8080))])
    }

    @Test func fullServiceSpecIsRead() throws {
        let yaml = """
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: shop}
        spec:
          type: LoadBalancer
          clusterIP: 10.96.5.5
          selector: {app: web}
          externalIPs: [192.168.99.22]
          externalTrafficPolicy: Local
          internalTrafficPolicy: Local
          healthCheckNodePort: 32100
          sessionAffinity: ClientIP
          sessionAffinityConfig: {clientIP: {timeoutSeconds: 600}}
          loadBalancerSourceRanges: [" 203.0.113.0/25"]
          ports:
            - {name: http, protocol: TCP, port: 80, targetPort: web, nodePort: 30555}
            - {name: dns, protocol: UDP, port: 53, targetPort: 5353}
        status:
          loadBalancer:
            ingress: [{ip: 1.2.3.4}, {ip: 5.6.7.8, ipMode: Proxy}, {hostname: lb.example}]
        """
        let (objects, warnings) = try LabManifest.parse(yaml, source: "t.yaml")
        let s = try #require(objects.services.first)
        #expect(s.namespace == "shop" && s.clusterIP == IPAddress("10.96.5.5"))
        #expect(s.ports[0] == ManifestServicePort(name: "http", proto: .tcp, port: 80, targetPort: .name("web"), nodePort: 30555))
        #expect(s.ports[1] == ManifestServicePort(name: "dns", proto: .udp, port: 53, targetPort: .number(5353)))
        #expect(s.externalIPs == [IPAddress("192.168.99.22")!])
        #expect(s.internalTrafficPolicy == .local && s.healthCheckNodePort == 32100 && s.sessionAffinityTimeout == 600)
        #expect(s.loadBalancerSourceRanges == [IPPrefix("203.0.113.0/25")!])
        #expect(s.loadBalancerIngressIPs == [IPAddress("1.2.3.4")!])
        #expect(warnings.map(\.field).sorted() == ["status.loadBalancer.ingress[1].ipMode", "status.loadBalancer.ingress[2]"])
    }

    @Test func unknownKindsAndFieldsBecomeWarnings() throws {
        let yaml = """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: x}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: s}
        spec:
          selector: {app: a}
          fancy: true
          ports: [{port: 80, weird: 1}]
        """
        let (objects, warnings) = try LabManifest.parse(yaml, source: "w.yaml")
        #expect(objects.services.count == 1)
        #expect(warnings.count == 3)
        #expect(warnings[0].object == "document 1" && warnings[0].field == "kind")
        #expect(warnings.contains { $0.object == "Service default/s" && $0.field == "spec.fancy" })
        #expect(warnings.contains { $0.object == "Service default/s" && $0.field == "spec.ports[0].weird" })
    }

    @Test func invalidPortNamesObjectAndPath() throws {
        let yaml = """
        apiVersion: v1
        kind: Service
        metadata: {name: nodeport}
        spec:
          type: NodePort
          ports: [{port: 70000}]
        """
        #expect(throws: ManifestError.invalidValue(source: "bad.yaml", object: "Service default/nodeport",
                                                    field: "spec.ports[0].port", problem: "70000 is out of range 1-65535")) {
            try LabManifest.parse(yaml, source: "bad.yaml")
        }
        do {
            _ = try LabManifest.parse(yaml, source: "bad.yaml")
        } catch {
            #expect("\(error)".contains("Service default/nodeport: spec.ports[0].port: 70000 is out of range"))
        }
    }

    @Test(arguments: [
        ("spec: {type: Weird, ports: [{port: 80}]}", "spec.type"),
        ("spec: {clusterIP: 10.96.0.300, ports: [{port: 80}]}", "spec.clusterIP"),
        ("spec: {type: NodePort, ports: [{port: 80, nodePort: 80}]}", "spec.ports[0].nodePort"),
        ("spec: {ports: [{port: 80, nodePort: 30001}]}", "spec.ports[0].nodePort"),
        ("spec: {ports: [{port: 80, protocol: SCTP}]}", "spec.ports[0].protocol"),
        ("spec: {ports: [{port: 80, targetPort: \"8080\"}]}", "spec.ports[0].targetPort"),
        ("spec: {ports: [{port: 80}, {port: 81}]}", "spec.ports[0].name"),
        ("spec: {ports: []}", "spec.ports"),
        ("spec: {externalTrafficPolicy: Local, ports: [{port: 80}]}", "spec.externalTrafficPolicy"),
        ("spec: {type: NodePort, healthCheckNodePort: 32000, ports: [{port: 80}]}", "spec.healthCheckNodePort"),
        ("spec: {sessionAffinity: ClientIP, sessionAffinityConfig: {clientIP: {timeoutSeconds: 0}}, ports: [{port: 80}]}",
         "spec.sessionAffinityConfig.clientIP.timeoutSeconds"),
        ("spec: {type: LoadBalancer, loadBalancerSourceRanges: [nonsense], ports: [{port: 80}]}", "spec.loadBalancerSourceRanges[0]"),
        ("spec: {externalIPs: [1.2.3], ports: [{port: 80}]}", "spec.externalIPs[0]"),
    ])
    func invalidServiceValues(spec: String, field: String) throws {
        let yaml = "apiVersion: v1\nkind: Service\nmetadata: {name: bad}\n" + spec
        do {
            _ = try LabManifest.parse(yaml, source: "x")
            Issue.record("expected an error for \(field)")
        } catch let ManifestError.invalidValue(_, object, f, _) {
            #expect(object == "Service default/bad")
            #expect(f == field)
        }
    }

    @Test func deploymentPlacementAndListKind() throws {
        let yaml = """
        apiVersion: v1
        kind: List
        items:
          - apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web}
            spec:
              replicas: 3
              selector: {matchLabels: {app: web}}
              template:
                metadata: {labels: {app: web, tier: front}}
                spec:
                  nodeSelector: {kubernetes.io/hostname: node2}
                  containers: [{name: c, ports: [{name: http, containerPort: 8080}, {containerPort: 9090}]}]
          - apiVersion: v1
            kind: Pod
            metadata: {name: client, labels: {role: client}}
            spec: {nodeName: node3, containers: [{name: c}]}
        """
        let (objects, warnings) = try LabManifest.parse(yaml, source: "l")
        #expect(warnings.isEmpty)
        let d = try #require(objects.deployments.first)
        #expect(d.replicas == 3 && d.nodeName == "node2" && d.templateLabels == ["app": "web", "tier": "front"])
        #expect(d.ports.map(\.containerPort) == [8080, 9090])
        #expect(objects.pods.first?.nodeName == "node3")
    }

    @Test func deploymentSelectorMustMatchTemplate() {
        let yaml = """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          selector: {matchLabels: {app: web}}
          template: {metadata: {labels: {app: other}}, spec: {containers: [{name: c}]}}
        """
        #expect(throws: ManifestError.self) { try LabManifest.parse(yaml, source: "d") }
    }

    @Test func duplicatesAndSyntaxErrorsAreReported() {
        let svc = "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 80}]}\n"
        #expect(throws: ManifestError.duplicate(source: "d", object: "Service default/a")) {
            try LabManifest.parse(svc + "---\n" + svc, source: "d")
        }
        #expect(throws: ManifestError.self) { try LabManifest.parse("kind: [unclosed", source: "y") }
    }

    @Test("an empty or comment-only file is an error; an empty List is a lab without workloads")
    func emptyManifests() throws {
        for text in ["", "\n  \n", "# nothing here\n"] {
            #expect(throws: ManifestError.noDocuments(source: "e.yaml")) { try LabManifest.parse(text, source: "e.yaml") }
        }
        let (objects, warnings) = try LabManifest.parse("apiVersion: v1\nkind: List\nitems: []\n", source: "l")
        #expect(objects.services.isEmpty && objects.pods.isEmpty && objects.deployments.isEmpty && warnings.isEmpty)
    }
}
