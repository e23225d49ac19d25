import ImageData
import Testing

/// Fixtures written at dev time with PIL (Pillow 13): the expected pixels below are the arrays
/// given to PIL (PNG and BMP are lossless) or PIL's own decode of the JPEG.
@Suite struct DecodedImageTests {
    static let rgb: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 128, 128, 128, 250, 200, 150]

    @Test func pngAndBmpRGB() throws {
        for name in ["rgb-3x2.png", "rgb-3x2.bmp"] {
            let image = try DecodedImage.read(path: Fixtures.path(name))
            #expect(image.width == 3 && image.height == 2 && image.channels == 3, "\(name)")
            #expect(image.pixels == Self.rgb, "\(name)")
        }
    }

    @Test func grayPNG() throws {
        let image = try DecodedImage.read(path: Fixtures.path("gray-4x3.png"))
        #expect(image.width == 4 && image.height == 3 && image.channels == 1)
        #expect(image.pixels == [0, 50, 100, 150, 200, 250, 1, 2, 3, 4, 5, 255])
    }

    @Test func alphaIsDropped() throws {
        let image = try DecodedImage.read(path: Fixtures.path("rgba-2x1.png"))
        #expect(image.channels == 3 && image.pixels == [10, 20, 30, 40, 50, 60])
    }

    @Test func jpegMatchesPILWithinTwo() throws {
        let image = try DecodedImage.read(path: Fixtures.path("gradient-4x4.jpg"))
        #expect(image.width == 4 && image.height == 4 && image.channels == 3)
        let pil: [Int] = [
            39, 60, 201, 83, 59, 179, 118, 60, 163, 161, 60, 140, 38, 90, 191, 82, 91, 170, 118, 89, 153, 159, 91, 130, 38, 120, 180, 82,
            120, 157, 118, 119, 140, 160, 120, 118, 38, 150, 170, 81, 149, 148, 117, 150, 133, 159, 150, 109,
        ]
        #expect(image.pixels.count == pil.count)
        for (mine, theirs) in zip(image.pixels, pil) { #expect(abs(Int(mine) - theirs) <= 2) }
    }

    @Test func badFilesGiveClearErrors() throws {
        let scratch = ScratchDirectory()
        let png = Fixtures.bytes("rgb-3x2.png")
        let truncated = scratch.write("truncated.png", Array(png[0..<(png.count / 2)]))
        let text = scratch.write("notes.txt", Array("just some words, not a picture\n".utf8))
        let empty = scratch.write("empty.png", [])
        let truncatedMessage = failure { _ = try DecodedImage.read(path: truncated) }
        #expect(truncatedMessage?.hasPrefix(truncated + ": cannot decode") == true)
        #expect(failure { _ = try DecodedImage.read(path: text) }?.hasPrefix(text + ": cannot decode") == true)
        #expect(failure { _ = try DecodedImage.read(path: empty) }?.hasPrefix(empty + ": empty file") == true)
        #expect(failure { _ = try DecodedImage.read(path: scratch.path + "/absent.png") }?.contains("cannot open") == true)
    }

    /// Fixtures/huge-header.png and large-header.png: a valid PNG signature and IHDR (with its CRC)
    /// claiming 100000×100000 and 16000×16000 RGB; neither may allocate its pixels.
    @Test func hostileHeadersAreRefusedBeforeDecoding() {
        // Over stb's STBI_MAX_DIMENSIONS (16384): stb itself refuses the header.
        let huge = failure { _ = try DecodedImage.read(path: Fixtures.path("huge-header.png")) }
        #expect(huge?.contains("huge-header.png: cannot decode") == true && huge?.contains("Very large image") == true)
        // Within stb's limit but over 2^26 pixels: refused from the header, before decoding.
        let large = failure { _ = try DecodedImage.read(path: Fixtures.path("large-header.png")) }
        #expect(large?.contains("large-header.png: the header says 16000×16000 pixels") == true)
    }
}

@Suite struct ResizeTests {
    @Test func areaAverageFourToTwo() {
        // Pixels 10·i + 3 for i = 0…15 (row-major); each output averages a 2×2 block:
        // (3 + 13 + 43 + 53)/4 = 28, 48, 108, 128 (torch's interpolate mode="area" gives the same).
        let image = DecodedImage(width: 4, height: 4, channels: 1, pixels: (0..<16).map { UInt8($0 * 10 + 3) })
        #expect(image.resized(width: 2, height: 2, channels: 1) == [28, 48, 108, 128])
    }

    @Test func areaAverageWithPartialPixels() {
        // 3 → 2: output 0 covers source [0, 1.5): (0·1 + 90·0.5)/1.5 = 30; output 1 covers [1.5, 3): (90·0.5 + 180)/1.5 = 150.
        let image = DecodedImage(width: 3, height: 1, channels: 1, pixels: [0, 90, 180])
        #expect(image.resized(width: 2, height: 1, channels: 1) == [30, 150])
    }

    @Test func bilinearTwoToFour() {
        // torch.nn.functional.interpolate([[10, 50], [90, 200]], size=(4, 4), mode="bilinear", align_corners=False),
        // float64 at dev time; pixel centers at i + 0.5, so output x = 0 samples source x = −0.25 → clamped to 0.
        let reference: [Double] = [
            10.0, 20.0, 40.0, 50.0, 30.0, 44.375, 73.125, 87.5, 70.0, 93.125, 139.375, 162.5, 90.0, 117.5, 172.5, 200.0,
        ]
        let image = DecodedImage(width: 2, height: 2, channels: 1, pixels: [10, 50, 90, 200])
        let resized = image.resized(width: 4, height: 4, channels: 1)
        for (mine, theirs) in zip(resized, reference) { #expect(abs(Double(mine) - theirs) <= 0.5 + 1e-3) }
        #expect(resized[0] == 10 && resized[5] == 44 && resized[6] == 73 && resized[15] == 200)
    }

    @Test func lumaAndGrayReplication() throws {
        let color = try DecodedImage.read(path: Fixtures.path("rgb-3x2.png"))
        // PIL's convert("L") of the same picture (BT.601: 0.299 R + 0.587 G + 0.114 B).
        #expect(color.resized(width: 3, height: 2, channels: 1) == [76, 150, 29, 18, 128, 209])
        // Same size, 3 channels: the interleaved pixels become planes.
        #expect(
            color.resized(width: 3, height: 2, channels: 3) == [255, 0, 0, 10, 128, 250, 0, 255, 0, 20, 128, 200, 0, 0, 255, 30, 128, 150])
        let gray = DecodedImage(width: 2, height: 1, channels: 1, pixels: [7, 9])
        #expect(gray.resized(width: 2, height: 1, channels: 3) == [7, 9, 7, 9, 7, 9])
    }
}
