#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Dedicated threads for the CPU-heavy part of a request before the engine — parsing a body of
/// up to --max-body bytes, rendering the chat template, tokenizing. Run on Swift's cooperative
/// pool (one thread per core) a multi-megabyte prompt would hold a thread that /health and the
/// other connections need; here it holds one of these instead, and jobs beyond them wait.
final class PromptWorkers: @unchecked Sendable {  // every field is guarded by `mutex`
    private var jobs: [() -> Void] = []
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init(threads: Int) {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        for _ in 0..<max(1, threads) {
            let box = Unmanaged.passRetained(self)
            var thread = pthread_t()
            let started = pthread_create(
                &thread, nil,
                { raw in
                    let workers = Unmanaged<PromptWorkers>.fromOpaque(raw!).takeRetainedValue()
                    workers.loop()
                    return nil
                }, box.toOpaque())
            if started == 0 { pthread_detach(thread) } else { box.release() }
        }
    }

    /// Runs `work` on a worker thread and returns its result to the caller's task.
    func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            pthread_mutex_lock(mutex)
            jobs.append { continuation.resume(with: Result { try work() }) }
            pthread_cond_signal(wake)
            pthread_mutex_unlock(mutex)
        }
    }

    private func loop() {
        while true {
            pthread_mutex_lock(mutex)
            while jobs.isEmpty { pthread_cond_wait(wake, mutex) }
            let job = jobs.removeFirst()
            pthread_mutex_unlock(mutex)
            job()
        }
    }
}
