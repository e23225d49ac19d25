import Testing

/// The tags `scripts/test-fast.sh` filters on; every test target that uses a tag declares it (a tag is
/// known by its name, so the same tag in two targets is one tag).
extension Tag {
    /// Takes more than about 20 seconds on two cores; the fast loop leaves it out, `swift test` runs it.
    @Tag static var slow: Self
    /// Loads a real model from the store (pulling it on first use).
    @Tag static var model: Self
    /// Runs the `atelier` executable in a child process.
    @Tag static var process: Self
}
