package dev.kiln.ingestion.image;

import java.awt.image.BufferedImage;
import java.awt.image.WritableRaster;

/**
 * libjpeg's colour conversions (jdcolor.c, integer tables with 16 fraction bits), applied to the raw samples the
 * JDK's JPEG reader returns from {@code readRaster}. Pillow decodes JPEGs with libjpeg(-turbo), whose output these
 * reproduce bit for bit; doing it here, rather than through {@code ImageReader.read}, also keeps embedded ICC
 * profiles out of the pixels, as in Pillow.
 */
final class JpegSamples {
    private static final int SCALE_BITS = 16;
    private static final int ONE_HALF = 1 << (SCALE_BITS - 1);
    private static final int[] CR_R = new int[256];
    private static final int[] CB_B = new int[256];
    private static final int[] CR_G = new int[256];
    private static final int[] CB_G = new int[256];

    static {
        for (int i = 0; i < 256; i++) {
            int x = i - 128;
            CR_R[i] = (fix(1.40200) * x + ONE_HALF) >> SCALE_BITS;
            CB_B[i] = (fix(1.77200) * x + ONE_HALF) >> SCALE_BITS;
            CR_G[i] = -fix(0.71414) * x;
            CB_G[i] = -fix(0.34414) * x + ONE_HALF;
        }
    }

    private JpegSamples() {
    }

    private static int fix(double x) {
        return (int) (x * (1L << SCALE_BITS) + 0.5);
    }

    private static int clamp(int v) {
        return v < 0 ? 0 : Math.min(v, 255);
    }

    /** YCbCr samples (3 bands) to RGB. */
    static BufferedImage ycbcrToRgb(WritableRaster raw) {
        int width = raw.getWidth();
        int height = raw.getHeight();
        BufferedImage rgb = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        int[] px = new int[3 * width];
        int[] row = new int[width];
        for (int y = 0; y < height; y++) {
            raw.getPixels(raw.getMinX(), raw.getMinY() + y, width, 1, px);
            for (int x = 0; x < width; x++) {
                int luma = px[3 * x];
                int cb = px[3 * x + 1];
                int cr = px[3 * x + 2];
                row[x] = clamp(luma + CR_R[cr]) << 16
                        | clamp(luma + ((CB_G[cb] + CR_G[cr]) >> SCALE_BITS)) << 8
                        | clamp(luma + CB_B[cb]);
            }
            rgb.setRGB(0, y, width, 1, row, 0, width);
        }
        return rgb;
    }

    /** In place: YCCK samples to CMYK as libjpeg's ycck_cmyk_convert does (C = 255 - R, ...; K unchanged). */
    static void ycckToCmyk(WritableRaster raw) {
        int width = raw.getWidth();
        int[] px = new int[4 * width];
        for (int y = 0; y < raw.getHeight(); y++) {
            raw.getPixels(raw.getMinX(), raw.getMinY() + y, width, 1, px);
            for (int x = 0; x < width; x++) {
                int i = 4 * x;
                int luma = px[i];
                int cb = px[i + 1];
                int cr = px[i + 2];
                px[i] = clamp(255 - (luma + CR_R[cr]));
                px[i + 1] = clamp(255 - (luma + ((CB_G[cb] + CR_G[cr]) >> SCALE_BITS)));
                px[i + 2] = clamp(255 - (luma + CB_B[cb]));
            }
            raw.setPixels(raw.getMinX(), raw.getMinY() + y, width, 1, px);
        }
    }

    /** One band of gray samples to RGB. */
    static BufferedImage grayToRgb(WritableRaster raw) {
        int width = raw.getWidth();
        int height = raw.getHeight();
        BufferedImage rgb = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        int[] px = new int[width];
        int[] row = new int[width];
        for (int y = 0; y < height; y++) {
            raw.getSamples(raw.getMinX(), raw.getMinY() + y, width, 1, 0, px);
            for (int x = 0; x < width; x++) {
                row[x] = px[x] * 0x010101;
            }
            rgb.setRGB(0, y, width, 1, row, 0, width);
        }
        return rgb;
    }

    /** Three bands of RGB samples (Adobe transform 0) to an image. */
    static BufferedImage rgbToRgb(WritableRaster raw) {
        int width = raw.getWidth();
        int height = raw.getHeight();
        BufferedImage rgb = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        int[] px = new int[3 * width];
        int[] row = new int[width];
        for (int y = 0; y < height; y++) {
            raw.getPixels(raw.getMinX(), raw.getMinY() + y, width, 1, px);
            for (int x = 0; x < width; x++) {
                row[x] = px[3 * x] << 16 | px[3 * x + 1] << 8 | px[3 * x + 2];
            }
            rgb.setRGB(0, y, width, 1, row, 0, width);
        }
        return rgb;
    }
}
