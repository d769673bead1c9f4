/// The statuses Foghorn answers with, each with its precomputed status line.
public enum HTTPStatus: Int, Sendable, CaseIterable {
    case `continue` = 100
    case ok = 200
    case created = 201
    case accepted = 202
    case noContent = 204
    case movedPermanently = 301
    case found = 302
    case seeOther = 303
    case notModified = 304
    case temporaryRedirect = 307
    case permanentRedirect = 308
    case badRequest = 400
    case unauthorized = 401
    case paymentRequired = 402
    case forbidden = 403
    case notFound = 404
    case methodNotAllowed = 405
    case requestTimeout = 408
    case conflict = 409
    case gone = 410
    case lengthRequired = 411
    case payloadTooLarge = 413
    case uriTooLong = 414
    case unsupportedMediaType = 415
    case unprocessableContent = 422
    case tooManyRequests = 429
    case requestHeaderFieldsTooLarge = 431
    case internalServerError = 500
    case notImplemented = 501
    case badGateway = 502
    case serviceUnavailable = 503
    case gatewayTimeout = 504
    case httpVersionNotSupported = 505

    public var reasonPhrase: String {
        switch self {
        case .continue: return "Continue"
        case .ok: return "OK"
        case .created: return "Created"
        case .accepted: return "Accepted"
        case .noContent: return "No Content"
        case .movedPermanently: return "Moved Permanently"
        case .found: return "Found"
        case .seeOther: return "See Other"
        case .notModified: return "Not Modified"
        case .temporaryRedirect: return "Temporary Redirect"
        case .permanentRedirect: return "Permanent Redirect"
        case .badRequest: return "Bad Request"
        case .unauthorized: return "Unauthorized"
        case .paymentRequired: return "Payment Required"
        case .forbidden: return "Forbidden"
        case .notFound: return "Not Found"
        case .methodNotAllowed: return "Method Not Allowed"
        case .requestTimeout: return "Request Timeout"
        case .conflict: return "Conflict"
        case .gone: return "Gone"
        case .lengthRequired: return "Length Required"
        case .payloadTooLarge: return "Content Too Large"
        case .uriTooLong: return "URI Too Long"
        case .unsupportedMediaType: return "Unsupported Media Type"
        case .unprocessableContent: return "Unprocessable Content"
        case .tooManyRequests: return "Too Many Requests"
        case .requestHeaderFieldsTooLarge: return "Request Header Fields Too Large"
        case .internalServerError: return "Internal Server Error"
        case .notImplemented: return "Not Implemented"
        case .badGateway: return "Bad Gateway"
        case .serviceUnavailable: return "Service Unavailable"
        case .gatewayTimeout: return "Gateway Timeout"
        case .httpVersionNotSupported: return "HTTP Version Not Supported"
        }
    }

    /// 1 for 1xx … 5 for 5xx.
    public var statusClass: Int { rawValue / 100 }

    /// `HTTP/1.1 <code> <reason>\r\n` as bytes, built once.
    public var statusLine: [UInt8] { HTTPStatus.statusLines[rawValue - 100] }

    private static let statusLines: [[UInt8]] = {
        var lines = [[UInt8]](repeating: [], count: 500)
        for status in HTTPStatus.allCases {
            lines[status.rawValue - 100] = Array("HTTP/1.1 \(status.rawValue) \(status.reasonPhrase)\r\n".utf8)
        }
        return lines
    }()

    /// An error code that goes with the status when a handler has no more specific one.
    public var defaultErrorCode: String {
        switch self {
        case .notFound: return "NOT_FOUND"
        case .methodNotAllowed: return "METHOD_NOT_ALLOWED"
        case .unauthorized: return "UNAUTHORIZED"
        case .forbidden: return "FORBIDDEN"
        case .serviceUnavailable: return "SERVICE_UNAVAILABLE"
        case .internalServerError: return "INTERNAL_ERROR"
        default: return reasonPhrase.uppercased().replacingSpaces()
        }
    }
}

extension String {
    fileprivate func replacingSpaces() -> String {
        String(self.map { $0 == " " || $0 == "-" ? "_" : $0 })
    }
}
