/// Why a request was rejected before it reached a handler. Each case has the
/// status it answers with, a stable `code` (also the metrics `reason` label)
/// and a human message. Every one of them closes the connection.
public enum HTTPParseError: UInt8, Error, Sendable, CaseIterable {
    case requestLineTooLong
    case headerBlockTooLarge
    case tooManyHeaders
    case bodyTooLarge
    case invalidMethod
    case methodNotImplemented
    case invalidTarget
    case http09NotSupported
    case invalidVersion
    case unsupportedVersion
    case http2Preface
    case bareCR
    case bareLF
    case nulByte
    case obsFold
    case invalidHeaderName
    case invalidHeaderValue
    case invalidContentLength
    case duplicateContentLength
    case contentLengthWithTransferEncoding
    case transferEncodingNotAllowed
    case lengthRequired
    case missingHost
    case duplicateHost
    case hostMismatch
    case headerTimeout

    public var status: HTTPStatus {
        switch self {
        case .requestLineTooLong: return .uriTooLong
        case .headerBlockTooLarge, .tooManyHeaders: return .requestHeaderFieldsTooLarge
        case .bodyTooLarge: return .payloadTooLarge
        case .methodNotImplemented: return .notImplemented
        case .unsupportedVersion: return .httpVersionNotSupported
        case .lengthRequired: return .lengthRequired
        case .headerTimeout: return .requestTimeout
        default: return .badRequest
        }
    }

    public var code: String {
        switch self {
        case .requestLineTooLong: return "URI_TOO_LONG"
        case .headerBlockTooLarge: return "HEADERS_TOO_LARGE"
        case .tooManyHeaders: return "TOO_MANY_HEADERS"
        case .bodyTooLarge: return "PAYLOAD_TOO_LARGE"
        case .invalidMethod: return "INVALID_METHOD"
        case .methodNotImplemented: return "METHOD_NOT_IMPLEMENTED"
        case .invalidTarget: return "INVALID_TARGET"
        case .http09NotSupported: return "HTTP09_NOT_SUPPORTED"
        case .invalidVersion: return "INVALID_VERSION"
        case .unsupportedVersion: return "VERSION_NOT_SUPPORTED"
        case .http2Preface: return "HTTP2_PREFACE"
        case .bareCR: return "BARE_CR"
        case .bareLF: return "BARE_LF"
        case .nulByte: return "NUL_BYTE"
        case .obsFold: return "OBS_FOLD"
        case .invalidHeaderName: return "INVALID_HEADER_NAME"
        case .invalidHeaderValue: return "INVALID_HEADER_VALUE"
        case .invalidContentLength: return "INVALID_CONTENT_LENGTH"
        case .duplicateContentLength: return "DUPLICATE_CONTENT_LENGTH"
        case .contentLengthWithTransferEncoding: return "CONTENT_LENGTH_WITH_TRANSFER_ENCODING"
        case .transferEncodingNotAllowed: return "TRANSFER_ENCODING_NOT_ALLOWED"
        case .lengthRequired: return "LENGTH_REQUIRED"
        case .missingHost: return "MISSING_HOST"
        case .duplicateHost: return "DUPLICATE_HOST"
        case .hostMismatch: return "HOST_MISMATCH"
        case .headerTimeout: return "REQUEST_TIMEOUT"
        }
    }

    public var message: String {
        switch self {
        case .requestLineTooLong: return "request line exceeds the configured limit (max_request_line_bytes)"
        case .headerBlockTooLarge: return "header block exceeds the configured limit (max_header_bytes)"
        case .tooManyHeaders: return "too many header fields (max_headers)"
        case .bodyTooLarge: return "request body exceeds the configured limit (max_body_bytes)"
        case .invalidMethod: return "request method is not a valid token"
        case .methodNotImplemented: return "request method is not supported"
        case .invalidTarget: return "request target is malformed"
        case .http09NotSupported: return "HTTP/0.9 requests are not supported"
        case .invalidVersion: return "HTTP version is malformed"
        case .unsupportedVersion: return "only HTTP/1.0 and HTTP/1.1 are supported on this port"
        case .http2Preface: return "HTTP/2 prior-knowledge connections are not supported on this port"
        case .bareCR: return "bare CR in request head"
        case .bareLF: return "line ends with LF without CR"
        case .nulByte: return "NUL byte in request head"
        case .obsFold: return "obsolete line folding is not accepted"
        case .invalidHeaderName: return "header field name is malformed"
        case .invalidHeaderValue: return "header field value contains a forbidden character"
        case .invalidContentLength: return "Content-Length is not a valid length"
        case .duplicateContentLength: return "Content-Length appears more than once"
        case .contentLengthWithTransferEncoding: return "both Content-Length and Transfer-Encoding are present"
        case .transferEncodingNotAllowed: return "Transfer-Encoding is not allowed on this request"
        case .lengthRequired: return "a Content-Length body is required; chunked bodies are not accepted"
        case .missingHost: return "HTTP/1.1 request without Host"
        case .duplicateHost: return "Host appears more than once"
        case .hostMismatch: return "absolute-form target does not match Host"
        case .headerTimeout: return "request head did not arrive within header_timeout_ms"
        }
    }

    /// Lower-case reason label for metrics (`foghorn_http_parse_errors_total{reason=...}`).
    public var reason: String { code.lowercased() }
}
