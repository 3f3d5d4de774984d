package dev.kiln.ingestion.image;

import dev.kiln.model.dataset.Captions;
import dev.kiln.model.events.RejectionReason;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Reads a caption sidecar ({@code .txt}, {@code .caption}) the way sd-scripts does (train_util.read_caption:
 * UTF-8, first line stripped, or every non-blank line with wildcards; see {@link Captions#fromSidecar}), with
 * Kiln's differences: a UTF-8 byte-order mark is removed, and a caption that is empty or not valid UTF-8 is
 * rejected ({@code INVALID_CAPTION}) so its image falls back to class tokens instead of aborting the run.
 */
public final class CaptionReader {
    /** Captions are a line of tags or a sentence; anything longer than this is not a caption. */
    public static final int MAX_CAPTION_BYTES = 64 * 1024;

    private CaptionReader() {
    }

    /** Reads at most {@link #MAX_CAPTION_BYTES} + 1 bytes from {@code in} (not closed) and decodes them. */
    public static CaptionResult read(String key, InputStream in, boolean enableWildcard) throws IOException {
        return read(key, in.readNBytes(MAX_CAPTION_BYTES + 1), enableWildcard);
    }

    /** Decodes a sidecar's bytes; {@code key} is for the message. */
    public static CaptionResult read(String key, byte[] bytes, boolean enableWildcard) {
        if (bytes.length > MAX_CAPTION_BYTES) {
            return invalid(key, "caption file is over " + MAX_CAPTION_BYTES + " bytes");
        }
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer input = ByteBuffer.wrap(bytes);
        CharBuffer text = CharBuffer.allocate(bytes.length);
        CoderResult result = decoder.decode(input, text, true);
        if (!result.isError()) {
            result = decoder.flush(text);
        }
        if (result.isError()) {
            return invalid(key, String.format("caption is not valid UTF-8: byte 0x%02x at offset %d",
                    bytes[input.position()] & 0xff, input.position()));
        }
        String caption = Captions.fromSidecar(text.flip().toString(), enableWildcard);
        if (caption == null) {
            return invalid(key, "caption file is empty");
        }
        if (caption.isEmpty()) {
            return invalid(key, enableWildcard ? "caption file has no non-blank line"
                    : "caption is empty (sd-scripts reads the first line, and it is blank)");
        }
        return new CaptionResult.Caption(caption);
    }

    private static Rejection invalid(String key, String what) {
        return Rejection.of(RejectionReason.INVALID_CAPTION, key, what);
    }
}
