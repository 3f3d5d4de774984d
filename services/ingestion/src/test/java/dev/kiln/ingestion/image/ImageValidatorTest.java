package dev.kiln.ingestion.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.model.events.ColorMode;
import dev.kiln.model.events.ImageFormat;
import dev.kiln.model.events.RejectionReason;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class ImageValidatorTest {
    private final ImageValidator validator = new ImageValidator();

    static Stream<UploadCorpus.Upload> badUploads() {
        return UploadCorpus.bad().stream();
    }

    static Stream<UploadCorpus.Upload> goodUploads() {
        return UploadCorpus.good().stream();
    }

    @Test
    void corpusHasAtLeastFifteenKindsOfBadUpload() {
        assertTrue(UploadCorpus.bad().size() >= 15, "bad uploads: " + UploadCorpus.bad().size());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badUploads")
    void rejectsBadUploadWithItsReasonAndAMessageNamingTheKey(UploadCorpus.Upload upload) throws IOException {
        ValidationResult result = validate(upload.key(), upload.bytes(), ImageLimits.DEFAULT);
        Rejection rejection = assertInstanceOf(Rejection.class, result, upload.name() + " gave " + result);
        assertEquals(upload.expected(), rejection.reason(), rejection.message());
        assertTrue(rejection.message().startsWith(upload.key() + ": "), rejection.message());
        assertTrue(rejection.message().length() > upload.key().length() + 10, "says what was wrong: " + rejection.message());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("goodUploads")
    void acceptsGoodUploadWithItsHashAndSize(UploadCorpus.Upload upload) throws Exception {
        ValidationResult result = validate(upload.key(), upload.bytes(), ImageLimits.DEFAULT);
        ValidationResult.Accepted accepted = assertInstanceOf(ValidationResult.Accepted.class, result, result.toString());
        assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(upload.bytes())), accepted.sha256());
        assertEquals(upload.bytes().length, accepted.byteSize());
    }

    @Test
    void formatComesFromTheContentNotTheExtension() throws IOException {
        ValidationResult.Accepted png = accepted(Fixtures.FOLDER + "photo.jpg", UploadCorpus.png());
        assertEquals(ImageFormat.PNG, png.format());
        assertEquals(ColorMode.RGB, png.colorMode());
        assertEquals(64, png.width());
        assertEquals(48, png.height());
        assertEquals(ImageFormat.JPEG, accepted(Fixtures.FOLDER + "photo.Png", UploadCorpus.jpeg()).format());
        assertEquals(ImageFormat.WEBP, accepted(Fixtures.FOLDER + "photo.BMP", Fixtures.resource("lossy.webp")).format());
    }

    @Test
    void rejectsOverTheByteLimitWhileStreaming() throws IOException {
        byte[] png = UploadCorpus.png();
        ImageLimits limits = new ImageLimits(1_000_000, png.length - 1);
        Rejection rejection = assertInstanceOf(Rejection.class, validate(Fixtures.FOLDER + "a.png", png, limits));
        assertEquals(RejectionReason.TOO_LARGE, rejection.reason());
        // exactly at the limit is fine
        assertInstanceOf(ValidationResult.Accepted.class, validate(Fixtures.FOLDER + "a.png", png, new ImageLimits(1_000_000, png.length)));
    }

    @Test
    void stopsReadingAnEndlessStreamJustPastTheByteLimit() throws IOException {
        CountingEndlessStream endless = new CountingEndlessStream(UploadCorpus.png());
        ValidationResult result = validator.validate(Fixtures.FOLDER + "a.png", endless, -1, new ImageLimits(1_000_000, 100_000));
        assertEquals(RejectionReason.TOO_LARGE, assertInstanceOf(Rejection.class, result).reason());
        assertTrue(endless.served <= 100_001, "read " + endless.served + " bytes");
    }

    @Test
    void rejectsADeclaredSizeOverTheLimitWithoutReading() throws IOException {
        InputStream unreadable = new InputStream() {
            @Override
            public int read() {
                throw new AssertionError("must not be read");
            }
        };
        ValidationResult result = validator.validate(Fixtures.FOLDER + "a.png", unreadable, 200_000_000L, ImageLimits.DEFAULT);
        Rejection rejection = assertInstanceOf(Rejection.class, result);
        assertEquals(RejectionReason.TOO_LARGE, rejection.reason());
        assertTrue(rejection.message().contains("200000000"), rejection.message());
    }

    @Test
    void rejectsOverThePixelLimitFromTheHeaderOfEveryFormat() throws IOException {
        ImageLimits limits = new ImageLimits(64 * 48 - 1, 1_000_000);
        for (byte[] bytes : new byte[][] {UploadCorpus.png(), UploadCorpus.jpeg(),
                Fixtures.encode(Fixtures.gradient(64, 48), "bmp")}) {
            Rejection rejection = assertInstanceOf(Rejection.class, validate(Fixtures.FOLDER + "a.png", bytes, limits));
            assertEquals(RejectionReason.TOO_LARGE, rejection.reason());
            assertTrue(rejection.message().contains("64x48"), rejection.message());
        }
        Rejection webp = assertInstanceOf(Rejection.class,
                validate(Fixtures.FOLDER + "a.webp", Fixtures.resource("lossy.webp"), new ImageLimits(255, 1_000_000)));
        assertEquals(RejectionReason.TOO_LARGE, webp.reason());
    }

    @Test
    void anIncompleteUploadIsCorrupt() throws IOException {
        byte[] png = UploadCorpus.png();
        ValidationResult result = validator.validate(Fixtures.FOLDER + "a.png", new ByteArrayInputStream(png),
                png.length + 100, ImageLimits.DEFAULT);
        assertEquals(RejectionReason.CORRUPT, assertInstanceOf(Rejection.class, result).reason());
    }

    @Test
    void aFailingStreamIsAnErrorNotARejection() {
        byte[] png = UploadCorpus.png();
        InputStream failing = new InputStream() {
            private int served;

            @Override
            public int read() throws IOException {
                if (served == png.length / 2) {
                    throw new IOException("connection reset");
                }
                return png[served++] & 0xff;
            }
        };
        IOException e = assertThrows(IOException.class,
                () -> validator.validate(Fixtures.FOLDER + "a.png", failing, -1, ImageLimits.DEFAULT));
        assertEquals("connection reset", e.getMessage());
    }

    @Test
    void anOverSizeHeaderIsRejectedQuickly() throws IOException {
        byte[] huge = Fixtures.pngHeader(100_000, 100_000, Fixtures.pngChunk("IDAT", new byte[16]));
        long start = System.nanoTime();
        for (int i = 0; i < 100; i++) {
            validate(Fixtures.FOLDER + "huge.png", huge, ImageLimits.DEFAULT);
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(millis < 2_000, "100 rejections took " + millis + " ms");
    }

    private ValidationResult validate(String key, byte[] bytes, ImageLimits limits) throws IOException {
        return validator.validate(key, new ByteArrayInputStream(bytes), bytes.length, limits);
    }

    private ValidationResult.Accepted accepted(String key, byte[] bytes) throws IOException {
        ValidationResult result = validate(key, bytes, ImageLimits.DEFAULT);
        return assertInstanceOf(ValidationResult.Accepted.class, result, result.toString());
    }

    /** A valid image followed by zeros forever, counting what it serves. */
    private static final class CountingEndlessStream extends InputStream {
        private final byte[] start;
        long served;

        CountingEndlessStream(byte[] start) {
            this.start = start;
        }

        @Override
        public int read() {
            int b = served < start.length ? start[(int) served] & 0xff : 0;
            served++;
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            for (int i = 0; i < len; i++) {
                b[off + i] = (byte) read();
            }
            return len;
        }
    }
}
