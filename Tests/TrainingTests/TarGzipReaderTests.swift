import Foundation
import Testing

@testable import Datasets

@Suite struct TarGzipReaderTests {
    private func read(_ tar: [UInt8], limits: TarLimits = TarLimits()) throws -> [(member: TarMember, data: [UInt8])] {
        try TarReader.selectedMembers(ofGzipBytes: TestGzip.compress(tar), archiveName: "test.tar.gz", limits: limits) { _ in true }
    }

    private func text(_ data: [UInt8]) -> String { String(decoding: data, as: UTF8.self) }

    /// The error's text, which is what a user sees.
    private func message(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test func readsUstarGnuAndPaxNamesAndSkipsWhatIsNotAFile() throws {
        let longName = "corpus/" + String(repeating: "a", count: 120) + "/play_gut.txt"
        let paxName = "corpus/" + String(repeating: "b", count: 150) + ".txt"
        let block = String(repeating: "x", count: 512)
        let tar =
            TestTar.header(name: "corpus/", size: 0, type: UInt8(ascii: "5"))
            + TestTar.file("corpus/hamlet_gut.txt", "To be, or not to be\n")
            + TestTar.file("lear_gut.txt", "Nothing will come of nothing.", prefix: "corpus/with/prefix")
            + TestTar.header(name: "corpus/link", size: 0, type: UInt8(ascii: "2"))
            + TestTar.longName(longName) + TestTar.file("truncated-name-ignored", "long name via L")
            + TestTar.pax([("path", paxName), ("mtime", "1700000000.5")]) + TestTar.file("short", "long name via pax")
            + TestTar.file("corpus/empty.txt", "") + TestTar.file("corpus/block.txt", block) + TestTar.end
        let members = try read(tar)
        #expect(
            members.map(\.member.name) == [
                "corpus/", "corpus/hamlet_gut.txt", "corpus/with/prefix/lear_gut.txt", "corpus/link", longName, paxName,
                "corpus/empty.txt", "corpus/block.txt",
            ])
        #expect(members.map(\.member.kind) == [.directory, .file, .file, .special(UInt8(ascii: "2")), .file, .file, .file, .file])
        #expect(
            members.map { text($0.data) } == [
                "", "To be, or not to be\n", "Nothing will come of nothing.", "", "long name via L", "long name via pax", "", block,
            ])
    }

    @Test func paxSizeOverridesTheHeaderSize() throws {
        // The ustar size field says 0; the pax record says 5, so five bytes of data follow.
        let tar =
            TestTar.pax([("size", "5")]) + TestTar.header(name: "big.txt", size: 0) + TestTar.padded(Array("hello".utf8)) + TestTar.end
        let members = try read(tar)
        #expect(members.map(\.member.size) == [5])
        #expect(members.map { text($0.data) } == ["hello"])
    }

    @Test func selectionSkipsOtherMembersData() throws {
        let tar = TestTar.file("a.txt", String(repeating: "a", count: 3000)) + TestTar.file("b.txt", "bee") + TestTar.end
        let members = try TarReader.selectedMembers(ofGzipBytes: TestGzip.compress(tar), archiveName: "t.tar.gz") { $0.name == "b.txt" }
        #expect(members.map(\.member.name) == ["b.txt"])
        #expect(members.map { text($0.data) } == ["bee"])
    }

    @Test func concatenatedGzipMembersAndZeroPaddingReadAsOneStream() throws {
        let tar = TestTar.file("a.txt", "first") + TestTar.file("b.txt", "second") + TestTar.end
        let cut = 512 * 2
        let compressed = TestGzip.compress(Array(tar[..<cut])) + TestGzip.compress(Array(tar[cut...])) + [0, 0, 0, 0]
        let members = try TarReader.selectedMembers(ofGzipBytes: compressed, archiveName: "t.tar.gz") { _ in true }
        #expect(members.map { text($0.data) } == ["first", "second"])
    }

    @Test func truncatedGzipIsAnErrorNamingTheArchiveAndMember() throws {
        // Pseudo-random letters, so that half of the compressed stream ends inside play.txt's data.
        var state: UInt32 = 12345
        let noise = (0..<40_000).map { _ -> Character in
            state = state &* 1_103_515_245 &+ 12345
            return Character(UnicodeScalar(UInt8(ascii: "a") + UInt8((state >> 16) % 26)))
        }
        let tar = TestTar.file("a.txt", "first") + TestTar.file("play.txt", String(noise)) + TestTar.end
        let compressed = TestGzip.compress(tar)
        let cut = Array(compressed[..<(compressed.count / 2)])
        let text = message { _ = try TarReader.selectedMembers(ofGzipBytes: cut, archiveName: "cut.tar.gz") { _ in true } }
        #expect(text.hasPrefix("cut.tar.gz: member play.txt: "), "\(text)")
        #expect(text.contains("truncated"), "\(text)")
        // Cut inside the 8-byte trailer: the data is whole, the stream is not.
        let noTrailer = Array(compressed.dropLast(3))
        let trailerText = message { _ = try TarReader.selectedMembers(ofGzipBytes: noTrailer, archiveName: "cut.tar.gz") { _ in true } }
        #expect(trailerText.hasPrefix("cut.tar.gz: "), "\(trailerText)")
        #expect(trailerText.contains("truncated"), "\(trailerText)")
    }

    @Test func gzipCRCMismatchIsCaughtEvenAfterTheEndOfArchiveBlock() throws {
        var compressed = TestGzip.compress(TestTar.file("a.txt", "hello") + TestTar.end)
        compressed[compressed.count - 8] ^= 0xFF  // first byte of the CRC-32 in the trailer
        let text = message { _ = try TarReader.selectedMembers(ofGzipBytes: compressed, archiveName: "crc.tar.gz") { _ in true } }
        #expect(text.hasPrefix("crc.tar.gz: "), "\(text)")
        #expect(text.contains("incorrect data check"), "\(text)")
    }

    @Test func notGzipAndTrailingGarbageAreErrors() throws {
        let plain = TestTar.file("a.txt", "hello") + TestTar.end
        let notGzip = message { _ = try TarReader.selectedMembers(ofGzipBytes: plain, archiveName: "plain.tar") { _ in true } }
        #expect(notGzip.hasPrefix("plain.tar: "), "\(notGzip)")
        #expect(notGzip.contains("incorrect header check"), "\(notGzip)")
        let garbage = TestGzip.compress(plain) + Array("junk".utf8)
        let trailing = message { _ = try TarReader.selectedMembers(ofGzipBytes: garbage, archiveName: "junk.tar.gz") { _ in true } }
        #expect(trailing.contains("unexpected data after the gzip stream"), "\(trailing)")
    }

    @Test func badHeaderChecksumNamesTheMember() throws {
        let tar =
            TestTar.file("a.txt", "fine") + TestTar.header(name: "broken.txt", size: 4, checksum: 1234) + TestTar.padded([1, 2, 3, 4])
        let text = message { _ = try read(tar + TestTar.end) }
        #expect(
            text.hasPrefix("test.tar.gz: member broken.txt: header at offset 1024: checksum is 1234 but the header's bytes sum to"),
            "\(text)")
    }

    @Test func badSizeFieldIsAnError() throws {
        let tar = TestTar.header(name: "a.txt", size: 0, rawSize: Array("12x45678901\u{0}".utf8)) + TestTar.end
        let text = message { _ = try read(tar) }
        #expect(text.contains("member a.txt: header at offset 0: size field \"12x45678901\\x0\" is not an octal number"), "\(text)")
    }

    @Test func memberRunningPastTheEndIsAnError() throws {
        // Declares 10000 bytes; 100 follow, then the (well-formed) gzip stream ends.
        let tar = TestTar.file("a.txt", "ok") + TestTar.header(name: "long.txt", size: 10_000) + [UInt8](repeating: 65, count: 100)
        let text = message { _ = try read(tar) }
        #expect(text.hasPrefix("test.tar.gz: member long.txt: declares 10000 bytes of data, but the archive ends"), "\(text)")
        // Skipped (not selected) members are checked the same way.
        let skipped = message {
            _ = try TarReader.selectedMembers(ofGzipBytes: TestGzip.compress(tar), archiveName: "test.tar.gz") { _ in false }
        }
        #expect(skipped.hasPrefix("test.tar.gz: member long.txt: declares 10000 bytes"), "\(skipped)")
    }

    @Test func hugeDeclaredSizesAreRefusedBeforeAllocating() throws {
        // 0o77777777777 = 8 GiB - 1: above the member limit, so nothing is allocated for it.
        let tar = TestTar.header(name: "huge.txt", size: 0o77777777777) + TestTar.padded([1]) + TestTar.end
        let text = message { _ = try read(tar) }
        #expect(
            text == "test.tar.gz: member huge.txt: holds 8589934591 bytes, more than the 268435456-byte limit for a member read into memory"
        )
        let paxHeader = TestTar.header(name: "PaxHeaders/x", size: 5 << 20, type: UInt8(ascii: "x")) + TestTar.end
        let paxText = message { _ = try read(paxHeader) }
        #expect(paxText.contains("extended header of 5242880 bytes is larger than the 1048576-byte limit"), "\(paxText)")
        let small = TarLimits(metadataBytes: 1 << 20, memberBytes: 1 << 20, archiveBytes: 4096)
        let bomb = TestTar.header(name: "zeros.bin", size: 100_000) + [UInt8](repeating: 0, count: 100_352) + TestTar.end
        let bombText = message { _ = try read(bomb, limits: small) }
        #expect(bombText.contains("decompresses to more than the 4096-byte limit"), "\(bombText)")
    }

    @Test(arguments: [
        ("../evil.txt", "member names with a '..' component are refused"),
        ("corpus/../../evil.txt", "member names with a '..' component are refused"),
        ("/etc/passwd", "absolute member names are refused"),
    ])
    func unsafeNamesAreRefused(name: String, detail: String) throws {
        #expect(message { _ = try read(TestTar.file(name, "x") + TestTar.end) } == "test.tar.gz: member \(name): \(detail)")
        // The same name arriving through a pax record or a GNU long-name record.
        #expect(
            message { _ = try read(TestTar.pax([("path", name)]) + TestTar.file("safe.txt", "x") + TestTar.end) }
                == "test.tar.gz: member \(name): \(detail)")
        #expect(
            message { _ = try read(TestTar.longName(name) + TestTar.file("safe.txt", "x") + TestTar.end) }
                == "test.tar.gz: member \(name): \(detail)")
    }

    @Test func malformedPaxRecordsAreErrors() throws {
        let body = Array("99 path=x\n".utf8)
        let tar = TestTar.header(name: "PaxHeaders/p", size: body.count, type: UInt8(ascii: "x")) + TestTar.padded(body) + TestTar.end
        #expect(message { _ = try read(tar) } == "test.tar.gz: member PaxHeaders/p: pax header: malformed record at byte 0")
    }

    @Test func archiveEndingInsideAHeaderIsAnError() throws {
        let tar = TestTar.file("a.txt", "ok") + Array(TestTar.header(name: "b.txt", size: 1)[..<300])
        let text = message { _ = try read(tar) }
        #expect(text == "test.tar.gz: the archive ends inside a header (300 of 512 bytes at offset 1024)")
    }
}
