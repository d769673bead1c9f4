public import FoghornApp
public import FoghornConfig
import Logging

/// Starts a real ``FoghornServer`` on 127.0.0.1 with free ports.
public enum TestServer {
    public static func start(_ configure: (inout FoghornConfiguration) -> Void = { _ in }) throws -> FoghornServer {
        var config = FoghornConfiguration()
        config.httpListen = ListenAddress(host: "127.0.0.1", port: 0)
        config.internalListen = ListenAddress(host: "127.0.0.1", port: 0)
        config.loops = 2
        config.lingerMs = 200
        // Within this machine's descriptor limit for 2 loops (a larger cap is a readiness warning).
        config.maxConnectionsPerLoop = 2000
        configure(&config)
        // A test that replaced the whole configuration gets no state file in the package directory
        // either (tests that want one name their own path).
        if config.statePath == FoghornConfiguration().statePath { config.statePath = ":memory:" }
        var logger = Logger(label: "foghorn-test")
        logger.logLevel = .error
        let server = FoghornServer(config: config, logger: logger)
        try server.start()
        return server
    }
}
