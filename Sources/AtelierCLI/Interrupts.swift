import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C (SIGINT) as a flag the chat loop polls: it stops the answer being generated, not the
/// program. No SA_RESTART, so a `read` blocked at the prompt returns EINTR and the prompt can react.
enum Interrupts {
    static let requested = Atomic<Bool>(false)

    static func install() {
        _ = requested.load(ordering: .relaxed)  // initialise the global before a handler can touch it
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in Interrupts.requested.store(true, ordering: .relaxed) }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGINT, &action, nil)
        var mask = sigset_t()  // a parent may have started us with SIGINT blocked
        sigemptyset(&mask)
        sigaddset(&mask, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &mask, nil)
    }

    static var isRequested: Bool { requested.load(ordering: .relaxed) }

    /// Whether Ctrl-C was pressed since the last call; clears the flag.
    static func take() -> Bool { requested.exchange(false, ordering: .relaxed) }
}
