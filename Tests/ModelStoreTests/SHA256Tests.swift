import Testing

@testable import ModelStore

@Suite struct SHA256Tests {
    let scratch = TemporaryDirectories()

    @Test func fipsVectors() {
        #expect(
            SHA256.hexDigest(of: Array("abc".utf8))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SHA256.hexDigest(of: [UInt8]())
                == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            SHA256.hexDigest(of: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(
            SHA256.hexDigest(of: [UInt8](repeating: 0x61, count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func streamingInOddChunksMatchesOneShot() {
        let data = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var hasher = SHA256()
        var i = 0, step = 1
        while i < data.count {
            let end = min(data.count, i + step)
            hasher.update(data[i..<end])
            i = end; step = step % 97 + 13
        }
        #expect(SHA256.hex(hasher.finalize()) == SHA256.hexDigest(of: data))
        // Lengths around the 55/56/64-byte padding boundaries.
        for n in [55, 56, 57, 63, 64, 65, 119, 120] {
            let bytes = [UInt8](repeating: 0x61, count: n)
            var h = SHA256()
            h.update(bytes.prefix(n / 2)); h.update(bytes.suffix(n - n / 2))
            #expect(SHA256.hex(h.finalize()) == SHA256.hexDigest(of: bytes), "length \(n)")
        }
    }

    @Test func fileDigest() throws {
        let dir = try scratch.make()
        let path = dir + "/a"
        try writeFile(path, [UInt8](repeating: 0x61, count: 1_000_000))
        #expect(
            try SHA256.hexDigest(ofFile: path)
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
