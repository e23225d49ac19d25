#if canImport(Glibc)
import Glibc
#endif

/// A plain POSIX thread: the model's work must stay on one thread outside Swift's cooperative pool,
/// which it would otherwise block for whole forward passes.
final class DriverThread: @unchecked Sendable {
    private let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }

    func start() {
        var thread = pthread_t()
        let box = Unmanaged.passRetained(self).toOpaque()
        pthread_create(
            &thread, nil,
            { raw in
                let me = Unmanaged<DriverThread>.fromOpaque(raw!).takeRetainedValue()
                me.body()
                return nil
            }, box)
        pthread_detach(thread)
    }
}
