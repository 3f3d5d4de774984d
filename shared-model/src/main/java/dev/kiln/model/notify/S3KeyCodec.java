package dev.kiln.model.notify;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Object-key encoding used in MinIO bucket notifications ({@code Records[].s3.object.key}).
 *
 * <p>MinIO encodes keys with Go's {@code url.QueryEscape}: bytes of the UTF-8 form other than
 * {@code A-Z a-z 0-9 - _ . ~} become {@code %XX} (upper-case hex), a space becomes {@code +}, and so
 * {@code /} becomes {@code %2F} and a literal {@code +} becomes {@code %2B}. Decode exactly once: a key
 * that itself contains {@code %20} arrives as {@code %2520} and must stay {@code %20}.
 */
public final class S3KeyCodec {

    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private S3KeyCodec() {
    }

    /** Encodes a key the way MinIO does (Go {@code url.QueryEscape}). */
    public static String encode(String key) {
        byte[] bytes = utf8(key);
        StringBuilder out = new StringBuilder(bytes.length + 16);
        for (byte b : bytes) {
            int c = b & 0xFF;
            if (isUnreserved(c)) {
                out.append((char) c);
            } else if (c == ' ') {
                out.append('+');
            } else {
                out.append('%').append(HEX[c >> 4]).append(HEX[c & 0xF]);
            }
        }
        return out.toString();
    }

    /**
     * Decodes a notification key once (Go {@code url.QueryUnescape}): {@code +} and {@code %20} are spaces,
     * {@code %XX} sequences are UTF-8 bytes.
     *
     * @throws IllegalArgumentException naming the key when an escape is malformed or the bytes are not UTF-8
     */
    public static String decode(String encoded) {
        if (encoded == null) {
            throw new IllegalArgumentException("object key is missing (null)");
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(encoded.length());
        for (int i = 0; i < encoded.length(); i++) {
            char c = encoded.charAt(i);
            if (c == '+') {
                bytes.write(' ');
            } else if (c == '%') {
                int hi = i + 2 < encoded.length() ? Character.digit(encoded.charAt(i + 1), 16) : -1;
                int lo = hi >= 0 ? Character.digit(encoded.charAt(i + 2), 16) : -1;
                if (hi < 0 || lo < 0) {
                    throw new IllegalArgumentException("object key '" + encoded + "': invalid URL escape at index " + i);
                }
                bytes.write(hi << 4 | lo);
                i += 2;
            } else if (c < 0x80) {
                bytes.write(c);
            } else {
                // Not produced by QueryEscape, but tolerate raw non-ASCII text by keeping its UTF-8 bytes.
                byte[] raw = utf8(String.valueOf(c));
                if (Character.isHighSurrogate(c) && i + 1 < encoded.length()) {
                    raw = utf8(encoded.substring(i, i + 2));
                    i++;
                }
                bytes.writeBytes(raw);
            }
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes.toByteArray()))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("object key '" + encoded + "': decoded bytes are not valid UTF-8", e);
        }
    }

    private static boolean isUnreserved(int c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                || c == '-' || c == '_' || c == '.' || c == '~';
    }

    private static byte[] utf8(String s) {
        try {
            ByteBuffer buf = StandardCharsets.UTF_8.newEncoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .encode(CharBuffer.wrap(s));
            byte[] out = new byte[buf.remaining()];
            buf.get(out);
            return out;
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("object key '" + s + "' is not valid Unicode (lone surrogate)", e);
        }
    }
}
