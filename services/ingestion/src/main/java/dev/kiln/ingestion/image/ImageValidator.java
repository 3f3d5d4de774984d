package dev.kiln.ingestion.image;

import dev.kiln.model.events.ImageFormat;
import dev.kiln.model.events.RejectionReason;
import dev.kiln.model.keys.KeyLayout;
import dev.kiln.model.keys.ParsedKey;
import java.awt.image.BufferedImage;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Validates one uploaded image while streaming it once: the key, then the format from the content's magic
 * bytes, then the header against the {@link ImageLimits} (before any pixel is decoded), then every pixel, and
 * the SHA-256 and size of the whole object. Thread-safe; one call per object.
 *
 * <p>Rejection reasons (see {@link RejectionReason}): {@code UNSAFE_KEY}, {@code HIDDEN_FILE},
 * {@code BAD_FOLDER_NAME}, {@code NOT_IN_SUBSET_FOLDER} from the key; {@code EMPTY_OBJECT} for zero bytes;
 * {@code UNSUPPORTED_FORMAT} for images Kiln does not read (GIF, TIFF, SVG, AVIF, HEIF, JPEG XL, ...);
 * {@code NOT_AN_IMAGE} for anything else (text, HTML, archives, ...); {@code TOO_LARGE} over the byte or pixel
 * limit; {@code CORRUPT} for a supported format whose data does not decode (truncated, bad CRC, zero size,
 * a file shorter than its signature).
 */
public final class ImageValidator {
    private static final int STREAM_BUFFER = 64 * 1024;

    private final KeyLayout layout;

    /** A validator for keys in the default layout. */
    public ImageValidator() {
        this(KeyLayout.DEFAULT);
    }

    /** A validator for keys in {@code layout} (its caption extensions matter for what counts as an image). */
    public ImageValidator(KeyLayout layout) {
        this.layout = layout;
    }

    /** The validated image and, when accepted, its RGB pixels as sd-scripts trains on them. */
    public record Decoded(ValidationResult result, BufferedImage rgb) {
    }

    /**
     * Validates the object {@code key} read from {@code stream} (read to its end unless rejected early; not closed).
     *
     * @param declaredSize the size storage reports, or -1 if unknown; a stream of another length is corrupt
     * @throws IOException only when {@code stream} itself fails (retry later; nothing is wrong with the image)
     */
    public ValidationResult validate(String key, InputStream stream, long declaredSize, ImageLimits limits)
            throws IOException {
        return inspect(key, stream, declaredSize, limits, false).result();
    }

    /** Like {@link #validate}, and also returns the RGB image that training uses ({@link RgbConverter}). */
    public Decoded decodeRgb(String key, InputStream stream, long declaredSize, ImageLimits limits) throws IOException {
        return inspect(key, stream, declaredSize, limits, true);
    }

    private Decoded inspect(String key, InputStream stream, long declaredSize, ImageLimits limits, boolean wantRgb)
            throws IOException {
        ParsedKey parsed = layout.parse(key);
        if (!parsed.isValid()) {
            return rejected(RejectionReason.of(parsed.problem()), key, parsed.detail());
        }
        if (declaredSize > limits.maxBytes()) {
            return rejected(RejectionReason.TOO_LARGE, key,
                    "object is " + declaredSize + " bytes; the limit is " + limits.maxBytes());
        }
        MeteredInputStream metered = new MeteredInputStream(stream, limits.maxBytes());
        try {
            return inspectContent(key, metered, declaredSize, limits, wantRgb);
        } catch (IOException | RuntimeException e) {
            return classify(key, e);
        }
    }

    private Decoded inspectContent(String key, MeteredInputStream metered, long declaredSize, ImageLimits limits,
                                   boolean wantRgb) throws IOException {
        BufferedInputStream buffered = new BufferedInputStream(metered, STREAM_BUFFER);
        buffered.mark(ContentSniffer.HEAD_BYTES);
        byte[] head = buffered.readNBytes(ContentSniffer.HEAD_BYTES);
        buffered.reset();
        if (head.length == 0) {
            return rejected(RejectionReason.EMPTY_OBJECT, key, "the object is empty (0 bytes)");
        }
        ContentSniffer.Sniffed sniffed = ContentSniffer.sniff(head, head.length);
        if (sniffed instanceof ContentSniffer.Unsupported u) {
            return rejected(RejectionReason.UNSUPPORTED_FORMAT, key, "the content is " + u.formatName()
                    + ", an image format Kiln does not read (it reads PNG, JPEG, WebP and BMP)");
        }
        if (sniffed instanceof ContentSniffer.TruncatedSignature t) {
            return rejected(RejectionReason.CORRUPT, key, "truncated: the object ends after " + head.length
                    + " byte(s), inside the " + t.format() + " signature");
        }
        if (sniffed instanceof ContentSniffer.NotAnImage n) {
            return rejected(RejectionReason.NOT_AN_IMAGE, key, "the content is not an image"
                    + (n.looksLike() == null ? "" : " (it looks like " + n.looksLike() + ")")
                    + " whatever its extension says");
        }
        ImageFormat format = ((ContentSniffer.Supported) sniffed).format();
        if (format == ImageFormat.PNG) {
            Decoded badHeader = checkPngIhdr(key, head, limits);
            if (badHeader != null) {
                return badHeader;
            }
        }
        InputStream body = format == ImageFormat.PNG ? new PngChunkVerifier(buffered) : buffered;
        ImageDecoder.Header header;
        BufferedImage image = null;
        try (ImageDecoder decoder = new ImageDecoder(format, body)) {
            header = decoder.readHeader(head);
            Decoded badSize = checkSize(key, format, header.width(), header.height(), limits);
            if (badSize != null) {
                return badSize;
            }
            if (wantRgb) {
                image = decoder.decode();
            } else {
                decoder.verify();
            }
        }
        body.transferTo(OutputStream.nullOutputStream()); // the rest counts for the size, the hash and PNG CRCs
        long size = metered.count();
        if (declaredSize >= 0 && size != declaredSize) {
            return rejected(RejectionReason.CORRUPT, key, "read " + size + " bytes but storage reported "
                    + declaredSize + " (incomplete upload?)");
        }
        ValidationResult.Accepted accepted = new ValidationResult.Accepted(header.width(), header.height(), format,
                header.colorMode(), header.bitDepth(), metered.sha256Hex(), size);
        BufferedImage rgb = wantRgb ? (format == ImageFormat.JPEG ? image : RgbConverter.toRgb(image)) : null;
        return new Decoded(accepted, rgb);
    }

    /** The IHDR chunk of PNG: size checked before any reader sees the data, as it is never wrong to. */
    private static Decoded checkPngIhdr(String key, byte[] head, ImageLimits limits) {
        if (head.length < 33 || !new String(head, 12, 4, StandardCharsets.ISO_8859_1).equals("IHDR")) {
            return rejected(RejectionReason.CORRUPT, key, "truncated or corrupt PNG: no IHDR header after the signature");
        }
        long width = Integer.toUnsignedLong(bigEndian(head, 16));
        long height = Integer.toUnsignedLong(bigEndian(head, 20));
        int bitDepth = head[24] & 0xff;
        int colourType = head[25] & 0xff;
        boolean validDepth = switch (colourType) {
            case 0 -> Arrays.asList(1, 2, 4, 8, 16).contains(bitDepth);
            case 3 -> Arrays.asList(1, 2, 4, 8).contains(bitDepth);
            case 2, 4, 6 -> bitDepth == 8 || bitDepth == 16;
            default -> false;
        };
        if (!validDepth) {
            return rejected(RejectionReason.CORRUPT, key, "corrupt PNG header: colour type " + colourType
                    + " with bit depth " + bitDepth + " is not a valid PNG combination");
        }
        return checkSize(key, ImageFormat.PNG, width, height, limits);
    }

    private static Decoded checkSize(String key, ImageFormat format, long width, long height, ImageLimits limits) {
        if (width <= 0 || height <= 0) {
            return rejected(RejectionReason.CORRUPT, key, "corrupt " + format + " header: it declares a "
                    + width + "x" + height + " image");
        }
        if (width * height > limits.maxPixels()) {
            return rejected(RejectionReason.TOO_LARGE, key, width + "x" + height + " is " + width * height
                    + " pixels; the limit is " + limits.maxPixels());
        }
        return null;
    }

    private static Decoded classify(String key, Throwable failure) throws IOException {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof VirtualMachineError error) {
                throw error; // the JDK's PNG reader wraps even OutOfMemoryError: not the image's fault
            }
            if (t instanceof SourceReadException source) {
                throw (IOException) source.getCause();
            }
            if (t instanceof ObjectTooLargeException) {
                return rejected(RejectionReason.TOO_LARGE, key, "the object is " + t.getMessage());
            }
            if (t instanceof CorruptDataException) {
                return rejected(RejectionReason.CORRUPT, key, "truncated or corrupt data: " + t.getMessage());
            }
        }
        return rejected(RejectionReason.CORRUPT, key, "truncated or corrupt data: " + describe(failure));
    }

    /** The messages of an exception and its causes, e.g. "Error reading PNG image data; Unexpected end of ZLIB input stream". */
    private static String describe(Throwable failure) {
        StringBuilder text = new StringBuilder();
        for (Throwable t = failure; t != null; t = t.getCause()) {
            String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
            if (text.indexOf(message) < 0) {
                text.append(text.length() == 0 ? "" : "; ").append(message);
            }
        }
        return text.toString();
    }

    private static Decoded rejected(RejectionReason reason, String key, String what) {
        return new Decoded(Rejection.of(reason, key, what), null);
    }

    private static int bigEndian(byte[] b, int i) {
        return (b[i] & 0xff) << 24 | (b[i + 1] & 0xff) << 16 | (b[i + 2] & 0xff) << 8 | (b[i + 3] & 0xff);
    }
}
