package dev.kiln.ingestion.image;

import dev.kiln.model.events.ImageFormat;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;

/**
 * Tells an object's format from its first bytes (magic numbers), never from its name. Signatures come from
 * the format specifications (PNG, JFIF/JPEG, RIFF/WebP, BMP, GIF, TIFF, ISO-BMFF, JPEG XL, JPEG 2000, ...).
 */
final class ContentSniffer {
    /** How many leading bytes {@link #sniff} looks at (enough to find {@code <svg} after an XML prologue). */
    static final int HEAD_BYTES = 1024;

    private static final byte[] PNG = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    private static final byte[] JPEG = {(byte) 0xff, (byte) 0xd8, (byte) 0xff};
    private static final byte[] RIFF = ascii("RIFF");
    private static final byte[] WEBP = ascii("WEBP");
    private static final byte[] BMP = ascii("BM");
    /** BMP DIB header sizes: OS/2 1.x and 2.x, BITMAPINFOHEADER, V2, V3, V4, V5. */
    private static final int[] BMP_DIB_SIZES = {12, 16, 40, 52, 56, 64, 108, 124};

    private ContentSniffer() {
    }

    /** What the first bytes say. */
    sealed interface Sniffed {
    }

    /** A format Kiln reads. */
    record Supported(ImageFormat format) implements Sniffed {
    }

    /** An image format Kiln does not read. */
    record Unsupported(String formatName) implements Sniffed {
    }

    /** The whole object is shorter than the signature of a format it starts like. */
    record TruncatedSignature(ImageFormat format) implements Sniffed {
    }

    /** Not an image: text, archive, document, ...; {@code looksLike} is a hint for the message or null. */
    record NotAnImage(String looksLike) implements Sniffed {
    }

    /**
     * @param head   the object's first bytes
     * @param length how many of them are valid; less than {@link #HEAD_BYTES} only when the object is that short
     */
    static Sniffed sniff(byte[] head, int length) {
        byte[] h = Arrays.copyOf(head, length);
        if (startsWith(h, PNG)) {
            return new Supported(ImageFormat.PNG);
        }
        if (startsWith(h, JPEG)) {
            return new Supported(ImageFormat.JPEG);
        }
        if (startsWith(h, RIFF) && length >= 12) {
            return regionEquals(h, 8, WEBP) ? new Supported(ImageFormat.WEBP) : new NotAnImage("a RIFF file that is not WebP");
        }
        if (startsWith(h, BMP) && length >= 18) {
            int dibSize = (h[14] & 0xff) | (h[15] & 0xff) << 8 | (h[16] & 0xff) << 16 | (h[17] & 0xff) << 24;
            if (Arrays.stream(BMP_DIB_SIZES).anyMatch(s -> s == dibSize)) {
                return new Supported(ImageFormat.BMP);
            }
        }
        String unsupported = unsupportedImage(h);
        if (unsupported != null) {
            return new Unsupported(unsupported);
        }
        ImageFormat prefixOf = truncatedSignature(h);
        if (prefixOf != null) {
            return new TruncatedSignature(prefixOf);
        }
        return new NotAnImage(nonImageHint(h));
    }

    private static String unsupportedImage(byte[] h) {
        if (startsWith(h, ascii("GIF87a")) || startsWith(h, ascii("GIF89a"))) {
            return "GIF";
        }
        if (startsWith(h, new byte[] {'I', 'I', 42, 0}) || startsWith(h, new byte[] {'M', 'M', 0, 42})
                || startsWith(h, new byte[] {'I', 'I', 43, 0}) || startsWith(h, new byte[] {'M', 'M', 0, 43})) {
            return "TIFF";
        }
        if (h.length >= 12 && regionEquals(h, 4, ascii("ftyp"))) {
            String brand = new String(h, 8, 4, StandardCharsets.ISO_8859_1);
            if (brand.startsWith("avi")) {
                return "AVIF";
            }
            if (brand.startsWith("hei") || brand.startsWith("hev") || brand.equals("mif1") || brand.equals("msf1")) {
                return "HEIF";
            }
            return null;
        }
        if (startsWith(h, new byte[] {(byte) 0xff, 0x0a})
                || startsWith(h, new byte[] {0, 0, 0, 12, 'J', 'X', 'L', ' ', '\r', '\n', (byte) 0x87, '\n'})) {
            return "JPEG XL";
        }
        if (startsWith(h, new byte[] {0, 0, 0, 12, 'j', 'P', ' ', ' ', '\r', '\n', (byte) 0x87, '\n'})
                || startsWith(h, new byte[] {(byte) 0xff, 0x4f, (byte) 0xff, 0x51})) {
            return "JPEG 2000";
        }
        if (startsWith(h, ascii("8BPS"))) {
            return "PSD";
        }
        if (startsWith(h, new byte[] {0x76, 0x2f, 0x31, 0x01})) {
            return "OpenEXR";
        }
        if (startsWith(h, ascii("qoif"))) {
            return "QOI";
        }
        if (startsWith(h, new byte[] {0, 0, 1, 0}) && h.length >= 6 && (h[4] != 0 || h[5] != 0)) { // image count > 0
            return "ICO";
        }
        if (startsWith(h, ascii("#?RADIANCE")) || startsWith(h, ascii("#?RGBE"))) {
            return "Radiance HDR";
        }
        if (isSvg(h)) {
            return "SVG";
        }
        return null;
    }

    /** An XML or bare document whose first element is {@code <svg}. */
    private static boolean isSvg(byte[] h) {
        String text = new String(h, StandardCharsets.UTF_8).toLowerCase(Locale.ROOT);
        if (text.startsWith("\ufeff")) {
            text = text.substring(1);
        }
        text = text.stripLeading();
        return (text.startsWith("<?xml") || text.startsWith("<!--") || text.startsWith("<!doctype svg")
                || text.startsWith("<svg")) && text.contains("<svg");
    }

    private static ImageFormat truncatedSignature(byte[] h) {
        if (h.length == 0) {
            return null;
        }
        if (h.length < PNG.length && startsWith(PNG, h)) {
            return ImageFormat.PNG;
        }
        if (h.length < JPEG.length && startsWith(JPEG, h)) {
            return ImageFormat.JPEG;
        }
        if (h.length < 12 && (startsWith(RIFF, h) || startsWith(h, RIFF))) {
            return ImageFormat.WEBP;
        }
        if (h.length < 18 && (startsWith(BMP, h) || startsWith(h, BMP))) {
            return ImageFormat.BMP;
        }
        return null;
    }

    private static String nonImageHint(byte[] h) {
        if (startsWith(h, ascii("PK\u0003\u0004"))) {
            return "a ZIP archive";
        }
        if (startsWith(h, ascii("%PDF"))) {
            return "a PDF document";
        }
        if (startsWith(h, new byte[] {0x1f, (byte) 0x8b})) {
            return "gzip data";
        }
        String text = new String(h, StandardCharsets.UTF_8).stripLeading().toLowerCase(Locale.ROOT);
        if (text.startsWith("<!doctype html") || text.startsWith("<html")) {
            return "an HTML page";
        }
        for (byte b : h) {
            if (b == 0) {
                return null;
            }
        }
        return "text";
    }

    private static boolean startsWith(byte[] data, byte[] prefix) {
        return data.length >= prefix.length && regionEquals(data, 0, prefix);
    }

    private static boolean regionEquals(byte[] data, int offset, byte[] expected) {
        return data.length >= offset + expected.length
                && Arrays.equals(data, offset, offset + expected.length, expected, 0, expected.length);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }
}
