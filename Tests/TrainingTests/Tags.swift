import Testing

extension Tag {
    @Tag static var slow: Self
    @Tag static var process: Self
}
