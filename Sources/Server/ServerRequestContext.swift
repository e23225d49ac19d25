import Hummingbird
import NIOCore

/// Hummingbird's request context plus the request's connection, whose closing cancels the
/// request's generation.
struct ServerRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
