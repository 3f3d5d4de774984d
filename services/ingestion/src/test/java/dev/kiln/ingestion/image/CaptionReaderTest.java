package dev.kiln.ingestion.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.model.events.RejectionReason;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class CaptionReaderTest {
    private static final String KEY = Fixtures.FOLDER + "a.txt";

    @Test
    void readsTheFirstLineStrippedAsSdScriptsDoes() {
        assertEquals("sks cat, sitting", caption("  sks cat, sitting \r\nsecond line\n", false));
    }

    @Test
    void withWildcardsKeepsEveryNonBlankLine() {
        assertEquals("sks cat\nsks cat, outdoors", caption("sks cat\n\n  sks cat, outdoors  \n", true));
    }

    @Test
    void removesAUtf8ByteOrderMark() {
        assertEquals("chat noir, été", caption("\ufeffchat noir, été\n", false));
    }

    @Test
    void keepsNonAsciiText() {
        assertEquals("猫, 桜", caption("猫, 桜", false));
    }

    @Test
    void rejectsInvalidUtf8NamingTheOffset() {
        byte[] latin1 = "caf\u00e9 au lait".getBytes(StandardCharsets.ISO_8859_1);
        Rejection rejection = rejected(latin1);
        assertTrue(rejection.message().startsWith(KEY + ": "), rejection.message());
        assertTrue(rejection.message().contains("offset 3"), rejection.message());
        assertTrue(rejection.message().contains("0xe9"), rejection.message());
    }

    @Test
    void rejectsATruncatedMultiByteSequence() {
        byte[] cut = {'o', 'k', (byte) 0xe6, (byte) 0x97};
        assertTrue(rejected(cut).message().contains("offset 2"));
    }

    @Test
    void rejectsEmptyAndBlankCaptions() {
        assertTrue(rejected(new byte[0]).message().contains("empty"));
        assertTrue(rejected("\ufeff".getBytes(StandardCharsets.UTF_8)).message().contains("empty"));
        assertTrue(rejected(" \t\n".getBytes(StandardCharsets.UTF_8)).message().contains("blank"));
        // sd-scripts reads only the first line: a blank first line is an empty caption
        assertTrue(rejected("\nsks cat".getBytes(StandardCharsets.UTF_8)).message().contains("blank"));
    }

    @Test
    void rejectsAnOversizeFileReadingNoMoreThanTheCapPlusOne() throws IOException {
        byte[] big = new byte[CaptionReader.MAX_CAPTION_BYTES * 3];
        java.util.Arrays.fill(big, (byte) 'a');
        ByteArrayInputStream in = new ByteArrayInputStream(big);
        Rejection rejection = assertInstanceOf(Rejection.class, CaptionReader.read(KEY, in, false));
        assertEquals(RejectionReason.INVALID_CAPTION, rejection.reason());
        assertEquals(big.length - CaptionReader.MAX_CAPTION_BYTES - 1, in.available());
        byte[] atCap = java.util.Arrays.copyOf(big, CaptionReader.MAX_CAPTION_BYTES);
        assertInstanceOf(CaptionResult.Caption.class, CaptionReader.read(KEY, atCap, false));
    }

    private static String caption(String text, boolean wildcard) {
        CaptionResult result = CaptionReader.read(KEY, text.getBytes(StandardCharsets.UTF_8), wildcard);
        return assertInstanceOf(CaptionResult.Caption.class, result, result.toString()).text();
    }

    private static Rejection rejected(byte[] bytes) {
        CaptionResult result = CaptionReader.read(KEY, bytes, false);
        Rejection rejection = assertInstanceOf(Rejection.class, result, result.toString());
        assertEquals(RejectionReason.INVALID_CAPTION, rejection.reason());
        return rejection;
    }
}
