/// A TLS configuration problem: which file, what OpenSSL said.
public struct TLSError: Error, Sendable, CustomStringConvertible, Equatable {
    public var file: String
    public var problem: String
    public init(file: String, problem: String) {
        self.file = file
        self.problem = problem
    }
    public var description: String { file.isEmpty ? problem : "\(file): \(problem)" }
}
