package dev.kiln.ingestion.image;

/**
 * Size limits for uploaded images, checked before any pixel is decoded.
 *
 * @param maxPixels width x height above which an image is rejected as too large (from its header)
 * @param maxBytes  object size above which an image is rejected as too large (counted while streaming)
 */
public record ImageLimits(long maxPixels, long maxBytes) {
    /** Issue 4's defaults: 50 megapixels, 100 MB. */
    public static final ImageLimits DEFAULT = new ImageLimits(50_000_000L, 100_000_000L);

    public ImageLimits {
        if (maxPixels < 1 || maxBytes < 1) {
            throw new IllegalArgumentException(
                    "image limits must be positive: maxPixels=" + maxPixels + ", maxBytes=" + maxBytes);
        }
    }
}
