package dev.kiln.ingestion.image;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;

/**
 * The 8-bit RGB image sd-scripts trains on: what Pillow's {@code Image.open(path).convert("RGB")} gives
 * (train_util.load_image), except that 16-bit samples are scaled to 8 bits where Pillow would clip grayscale
 * (ARCHITECTURE "Where Kiln deliberately differs"). Per stored mode:
 * <ul>
 *   <li>gray, gray+alpha: the gray value in R, G and B; alpha dropped;</li>
 *   <li>RGB, RGBA: alpha dropped, no compositing on any background (Pillow drops it too);</li>
 *   <li>palette: looked up; palette transparency ignored;</li>
 *   <li>16-bit samples: the high byte ({@code v >> 8}), which is how Pillow reduces 16-bit RGB, RGBA and LA;</li>
 *   <li>CMYK JPEG: see {@link #jpegCmykToRgb}.</li>
 * </ul>
 * Pixels are read from the raster, never through {@code getRGB}, which would apply Java2D colour management
 * (a linear-gray colour space made lighter, for one) that Pillow does not do.
 */
public final class RgbConverter {
    private RgbConverter() {
    }

    /** An opaque 8-bit RGB copy ({@link BufferedImage#TYPE_INT_RGB}) of a decoded image. */
    public static BufferedImage toRgb(BufferedImage source) {
        int width = source.getWidth();
        int height = source.getHeight();
        BufferedImage rgb = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        ColorModel cm = source.getColorModel();
        Raster raster = source.getRaster();
        int[] row = new int[width];
        if (cm instanceof IndexColorModel icm) {
            int[] index = new int[width];
            for (int y = 0; y < height; y++) {
                raster.getSamples(0, y, width, 1, 0, index);
                for (int x = 0; x < width; x++) {
                    row[x] = icm.getRed(index[x]) << 16 | icm.getGreen(index[x]) << 8 | icm.getBlue(index[x]);
                }
                rgb.setRGB(0, y, width, 1, row, 0, width);
            }
            return rgb;
        }
        int space = cm.getColorSpace().getType();
        boolean plainSamples = cm instanceof ComponentColorModel && !cm.isAlphaPremultiplied()
                && (space == ColorSpace.TYPE_GRAY || space == ColorSpace.TYPE_RGB);
        if (!plainSamples) {
            // packed pixels (TYPE_INT_ARGB, 565 BMPs, ...): the colour model unpacks and scales each field
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    Object pixel = raster.getDataElements(x, y, null);
                    row[x] = cm.getRed(pixel) << 16 | cm.getGreen(pixel) << 8 | cm.getBlue(pixel);
                }
                rgb.setRGB(0, y, width, 1, row, 0, width);
            }
            return rgb;
        }
        boolean gray = space == ColorSpace.TYPE_GRAY;
        int[] bits = cm.getComponentSize();
        int[] r = new int[width];
        int[] g = gray ? r : new int[width];
        int[] b = gray ? r : new int[width];
        for (int y = 0; y < height; y++) {
            to8Bits(raster.getSamples(0, y, width, 1, 0, r), bits[0]);
            if (!gray) {
                to8Bits(raster.getSamples(0, y, width, 1, 1, g), bits[1]);
                to8Bits(raster.getSamples(0, y, width, 1, 2, b), bits[2]);
            }
            for (int x = 0; x < width; x++) {
                row[x] = r[x] << 16 | g[x] << 8 | b[x];
            }
            rgb.setRGB(0, y, width, 1, row, 0, width);
        }
        return rgb;
    }

    private static void to8Bits(int[] samples, int bits) {
        if (bits == 8) {
            return;
        }
        for (int i = 0; i < samples.length; i++) {
            samples[i] = bits > 8 ? samples[i] >>> (bits - 8) : samples[i] * 255 / ((1 << bits) - 1);
        }
    }

    /**
     * RGB from a 4-component JPEG's decoded samples, as Pillow computes it: Pillow reads every CMYK JPEG as
     * Adobe-inverted ({@code rawmode "CMYK;I"}) and converts without colour management (Convert.c
     * {@code cmyk2rgb}: {@code R = (255 - K) - C * (255 - K) / 255}, rounded the way its MULDIV255 rounds).
     *
     * @param raw  the samples libjpeg outputs (CMYK; YCCK already converted to CMYK)
     */
    public static BufferedImage jpegCmykToRgb(Raster raw) {
        int width = raw.getWidth();
        int height = raw.getHeight();
        BufferedImage rgb = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        int[] px = new int[4 * width];
        int[] row = new int[width];
        for (int y = 0; y < height; y++) {
            raw.getPixels(raw.getMinX(), raw.getMinY() + y, width, 1, px);
            for (int x = 0; x < width; x++) {
                int i = 4 * x;
                // after Pillow's inversion c' = 255 - c, so 255 - k' = k (the stored value)
                int notBlack = px[i + 3];
                int red = notBlack - mulDiv255(255 - px[i], notBlack);
                int green = notBlack - mulDiv255(255 - px[i + 1], notBlack);
                int blue = notBlack - mulDiv255(255 - px[i + 2], notBlack);
                row[x] = red << 16 | green << 8 | blue;
            }
            rgb.setRGB(0, y, width, 1, row, 0, width);
        }
        return rgb;
    }

    /** Pillow's MULDIV255: {@code a * b / 255} rounded. */
    private static int mulDiv255(int a, int b) {
        int t = a * b + 128;
        return ((t >> 8) + t) >> 8;
    }
}
