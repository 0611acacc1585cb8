/// Manifest pieces shared by the Service-following tests.
enum TestManifests {
    /// The `web` Deployment (echo pods on port 8080) that the tests' Services select, followed by a newline.
    static func webDeployment(replicas: Int) -> String {
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          replicas: \(replicas)
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers: [{name: web, image: echo, ports: [{containerPort: 8080}]}]

        """
    }
}
