/// The lab the §4 scenario tests run against: one web pod on node1 behind every kind of Service the rows need,
/// client pods on node1 and node2, a pod that is its own Service's only endpoint (row 2) and a Service without endpoints (row 23).
/// externalIPs and loadBalancerSourceRanges have an address of each family (kube-proxy uses those of its own family).
enum ScenarioManifest {
    /// One echo pod on node1 (Deployment `web`), followed by a document separator: the start of the smaller manifests
    /// the catalog-follow and apply tests build on.
    static let webDeployment = """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          replicas: 1
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              nodeName: node1
              containers: [{name: web, image: echo, ports: [{containerPort: 8080}]}]
        ---

        """

    static let yaml = """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 1
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          nodeName: node1
          containers:
            - name: echo
              image: echoserver
              ports: [{name: http, containerPort: 8080}]
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: client-n1, labels: {app: client}}
    spec:
      nodeName: node1
      containers: [{name: c, image: busybox, ports: [{containerPort: 8080}]}]
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: client-n2, labels: {app: client}}
    spec:
      nodeName: node2
      containers: [{name: c, image: busybox, ports: [{containerPort: 8080}]}]
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: selfie, labels: {app: selfie}}
    spec:
      nodeName: node2
      containers: [{name: c, image: echoserver, ports: [{containerPort: 8080}]}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: cluster}
    spec:
      type: LoadBalancer
      selector: {app: web}
      externalIPs: [192.0.2.10, "fd00:192:0:2::10"]
      ports: [{port: 80, targetPort: 8080}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: local}
    spec:
      type: LoadBalancer
      externalTrafficPolicy: Local
      selector: {app: web}
      externalIPs: [192.0.2.11, "fd00:192:0:2::11"]
      ports: [{port: 80, targetPort: 8080}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: ranges}
    spec:
      type: LoadBalancer
      selector: {app: web}
      loadBalancerSourceRanges: [203.0.113.0/24, "fd00:203:0:113::/64"]
      ports: [{port: 80, targetPort: 8080}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: self}
    spec:
      selector: {app: selfie}
      ports: [{port: 80, targetPort: 8080}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: empty}
    spec:
      selector: {app: nothing}
      ports: [{port: 80, targetPort: 8080}]
    """
}
