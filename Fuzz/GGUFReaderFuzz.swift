// libFuzzer entry point for the GGUF reader. Built outside SwiftPM by scripts/fuzz-gguf.sh,
// together with Sources/GGUF, with -sanitize=fuzzer,address.
//
// Any input must either parse or throw a GGUFError: a trap, an out-of-bounds access (ASan), a
// leak, a hang or an out-of-memory is a bug.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUFReader(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let buffer = UnsafeRawBufferPointer(start: data, count: size)
    if let layout = try? GGUFFile.parse(buffer, source: "<fuzz>") {
        // Touch what a consumer would: every tensor's byte range must lie inside the input.
        for tensor in layout.tensors {
            let start = layout.dataOffset + Int(tensor.offset)
            precondition(start >= 0 && start + Int(tensor.byteCount) <= size, "tensor outside the input")
            if tensor.byteCount > 0 { _ = buffer[start] &+ buffer[start + Int(tensor.byteCount) - 1] }
        }
        _ = layout.metadata.architecture
    }
    return 0
}
