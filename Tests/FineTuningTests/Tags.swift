import Testing

extension Tag {
    /// Loads a real model from the store (pulled from PyPI on first use).
    @Tag static var model: Self
}
