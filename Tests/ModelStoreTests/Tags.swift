import Testing

/// The tags `scripts/test-fast.sh` filters on; every test target that uses a tag declares it (a tag is
/// known by its name, so the same tag in two targets is one tag).
extension Tag {
    /// Reaches PyPI itself, whatever the store holds.
    @Tag static var network: Self
}
