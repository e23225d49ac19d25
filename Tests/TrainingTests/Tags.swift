import Testing

extension Tag {
    @Tag static var slow: Self
    @Tag static var process: Self
    /// Fetches from PyPI (the first run; later runs read the cache).
    @Tag static var network: Self
}
