#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why the server cannot listen where it was asked to.
public struct PortUnavailable: Error, CustomStringConvertible {
    public let description: String
}

/// Binds (and closes) a socket on host:port the way the server will, so that a port in use is
/// reported before the model spends seconds loading, not after.
public enum PortCheck {
    public static func check(host: String, port: Int) throws(PortUnavailable) {
        guard port != 0 else { return }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &list)
        guard resolved == 0, let first = list else {
            throw PortUnavailable(description: "cannot resolve --host \(host): \(String(cString: gai_strerror(resolved)))")
        }
        defer { freeaddrinfo(list) }
        let socket = systemSocket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard socket >= 0 else { return }  // the real bind will say what is wrong
        defer { close(socket) }
        var one: Int32 = 1
        // As the server binds: a port whose last connections are in TIME_WAIT is free.
        setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(socket, first.pointee.ai_addr, first.pointee.ai_addrlen) != 0 else { return }
        let code = errno
        switch code {
        case EADDRINUSE:
            throw PortUnavailable(
                description: "port \(port) is in use on \(host) (another server listens there); choose another with --port")
        case EACCES:
            throw PortUnavailable(
                description: "no permission to listen on port \(port) (ports below 1024 need privileges); choose another with --port")
        case EADDRNOTAVAIL:
            throw PortUnavailable(description: "--host \(host) is not an address of this machine")
        default:
            throw PortUnavailable(description: "cannot listen on \(host):\(port): \(String(cString: strerror(code)))")
        }
    }
}

private func systemSocket(_ family: Int32, _ type: Int32, _ proto: Int32) -> Int32 { socket(family, type, proto) }
