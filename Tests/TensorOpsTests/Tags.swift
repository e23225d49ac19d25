import Testing

extension Tag {
    @Tag static var slow: Self
}
