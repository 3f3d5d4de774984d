package dev.kiln.ingestion.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.kiln.model.events.ColorMode;
import dev.kiln.model.events.ImageFormat;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Every accepted format and colour mode decodes to exactly the RGB pixels sd-scripts trains on: Pillow's
 * {@code Image.open(f).convert("RGB")}, saved by make_fixtures.py as {@code <file>.expected.png} when the fixtures
 * were made (gray16's expectation is Kiln's deliberate scaling instead of Pillow's clipping).
 */
class PillowParityTest {
    private final ImageValidator validator = new ImageValidator();

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            // fixture,       format, colour mode, bit depth
            "rgb.png,          PNG,  RGB,        8",
            "rgba.png,         PNG,  RGBA,       8",
            "gray.png,         PNG,  GRAY,       8",
            "gray_alpha.png,   PNG,  GRAY_ALPHA, 8",
            "palette.png,      PNG,  PALETTE,    8",
            "palette4.png,     PNG,  PALETTE,    4",
            "bilevel.png,      PNG,  GRAY,       1",
            "gray16.png,       PNG,  GRAY,       16",
            "rgb16.png,        PNG,  RGB,        16",
            "rgb.jpg,          JPEG, RGB,        8",
            "gray.jpg,         JPEG, GRAY,       8",
            "cmyk.jpg,         JPEG, CMYK,       8",
            "lossless.webp,    WEBP, RGBA,       8",
            "rgb.bmp,          BMP,  RGB,        8",
            "palette.bmp,      BMP,  PALETTE,    8",
    })
    void decodesToPillowsRgb(String fixture, ImageFormat format, ColorMode mode, int bitDepth) throws IOException {
        byte[] bytes = Fixtures.resource(fixture);
        ImageValidator.Decoded decoded = validator.decodeRgb(Fixtures.FOLDER + fixture, new ByteArrayInputStream(bytes),
                bytes.length, ImageLimits.DEFAULT);
        ValidationResult.Accepted accepted = assertInstanceOf(ValidationResult.Accepted.class, decoded.result(),
                () -> decoded.result().toString());
        assertEquals(format, accepted.format());
        assertEquals(mode, accepted.colorMode());
        assertEquals(bitDepth, accepted.bitDepth());
        assertEquals(16, accepted.width());
        assertEquals(16, accepted.height());
        BufferedImage expected = Fixtures.resourceImage(fixture + ".expected.png");
        assertSamePixels(expected, decoded.rgb(), fixture);
    }

    /**
     * Lossy WebP: TwelveMonkeys' VP8 decoder upsamples chroma differently from libwebp (Pillow), so pixels are
     * not identical. On a smooth picture the mean difference stays within about what the lossy encoding itself
     * costs (libwebp's own output is about 1.2 levels from the original there); sharp colour edges differ more.
     */
    @Test
    void lossyWebpIsCloseToPillowsOnAverage() throws IOException {
        byte[] bytes = Fixtures.resource("smooth.webp");
        ImageValidator.Decoded decoded = validator.decodeRgb(Fixtures.FOLDER + "smooth.webp",
                new ByteArrayInputStream(bytes), bytes.length, ImageLimits.DEFAULT);
        ValidationResult.Accepted accepted = assertInstanceOf(ValidationResult.Accepted.class, decoded.result());
        assertEquals(ImageFormat.WEBP, accepted.format());
        assertEquals(ColorMode.RGB, accepted.colorMode());
        BufferedImage expected = Fixtures.resourceImage("smooth.webp.expected.png");
        long total = 0;
        for (int y = 0; y < expected.getHeight(); y++) {
            for (int x = 0; x < expected.getWidth(); x++) {
                int e = expected.getRGB(x, y);
                int a = decoded.rgb().getRGB(x, y);
                for (int shift = 0; shift < 24; shift += 8) {
                    total += Math.abs((e >> shift & 0xff) - (a >> shift & 0xff));
                }
            }
        }
        double mean = total / (3.0 * expected.getWidth() * expected.getHeight());
        assertTrue(mean < 3.0, "mean difference from libwebp: " + mean);
    }

    static void assertSamePixels(BufferedImage expected, BufferedImage actual, String what) {
        assertEquals(expected.getWidth(), actual.getWidth(), what + " width");
        assertEquals(expected.getHeight(), actual.getHeight(), what + " height");
        StringBuilder diffs = new StringBuilder();
        int count = 0;
        for (int y = 0; y < expected.getHeight(); y++) {
            for (int x = 0; x < expected.getWidth(); x++) {
                int e = expected.getRGB(x, y) & 0xffffff;
                int a = actual.getRGB(x, y) & 0xffffff;
                if (e != a && count++ < 5) {
                    diffs.append(String.format(" (%d,%d) expected %06x got %06x;", x, y, e, a));
                }
            }
        }
        if (count > 0) {
            fail(what + ": " + count + " pixels differ from Pillow's:" + diffs);
        }
    }
}
