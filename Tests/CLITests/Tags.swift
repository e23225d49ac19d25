import Testing

/// The tags `scripts/test-fast.sh` filters on; every test target that uses a tag declares it (a tag is
/// known by its name, so the same tag in two targets is one tag).
extension Tag {
    /// Starts the `atelier` executable.
    @Tag static var process: Self
    /// Loads a model from the store (pulled on first use).
    @Tag static var model: Self
}
