package dev.kiln.ingestion.image;

import dev.kiln.model.events.ColorMode;
import dev.kiln.model.events.ImageFormat;

/** The outcome of validating one uploaded image: {@link Accepted} or {@link Rejection}. */
public sealed interface ValidationResult permits ValidationResult.Accepted, Rejection {

    /**
     * A readable image within the limits.
     *
     * @param width     pixels
     * @param height    pixels
     * @param format    the format found in the content (a PNG named {@code .jpg} is {@code PNG})
     * @param colorMode the stored channels; training converts every mode to 8-bit RGB ({@link RgbConverter})
     * @param bitDepth  bits per sample as stored (8 or 16 for PNG; 1, 2 or 4 for small palettes)
     * @param sha256    lower-case hex SHA-256 of the whole object
     * @param byteSize  bytes in the object
     */
    record Accepted(int width, int height, ImageFormat format, ColorMode colorMode, int bitDepth,
                    String sha256, long byteSize) implements ValidationResult {
    }
}
