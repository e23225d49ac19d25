import Testing

extension Tag {
    /// Loads a real model from the store (pulling it on first use).
    @Tag static var model: Self
}
