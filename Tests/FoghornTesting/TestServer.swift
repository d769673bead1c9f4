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
        configure(&config)
        var logger = Logger(label: "foghorn-test")
        logger.logLevel = .error
        let server = FoghornServer(config: config, logger: logger)
        try server.start()
        return server
    }
}
