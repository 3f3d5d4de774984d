package dev.kiln.captioning.tagger;

import dev.kiln.diffusion.image.ImageResize;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.util.Arrays;

/**
 * WD14 preprocessing as in sd-scripts' {@code preprocess_image}: transparency composited over white, padded to a
 * centred square with white, resized to the model size (INTER_AREA shrinking, PIL Lanczos enlarging), then
 * written as float32 0..255 in BGR channel order.
 */
final class TaggerImages {

    private static final int WHITE = 0xFFFFFF;

    private TaggerImages() {
    }

    /**
     * Writes one preprocessed image into {@code dst} at {@code offset} ({@code size*size*3} floats), laid out
     * HWC when {@code channelsLast}, else CHW.
     */
    static void write(BufferedImage image, int size, boolean channelsLast, float[] dst, int offset) {
        BufferedImage square = padToSquare(image);
        BufferedImage resized = ImageResize.resize(square, size, size);
        int[] rgb = resized.getRGB(0, 0, size, size, null, 0, size);
        int plane = size * size;
        for (int i = 0; i < plane; i++) {
            float r = (rgb[i] >> 16) & 0xff;
            float g = (rgb[i] >> 8) & 0xff;
            float b = rgb[i] & 0xff;
            if (channelsLast) {
                int o = offset + 3 * i;
                dst[o] = b;
                dst[o + 1] = g;
                dst[o + 2] = r;
            } else {
                dst[offset + i] = b;
                dst[offset + plane + i] = g;
                dst[offset + 2 * plane + i] = r;
            }
        }
    }

    /** The image as opaque RGB, centred on a white square ({@code pad_left = pad_x // 2}, as sd-scripts). */
    static BufferedImage padToSquare(BufferedImage image) {
        int w = image.getWidth();
        int h = image.getHeight();
        int[] rgb = opaqueRgb(image);
        int size = Math.max(w, h);
        int left = (size - w) / 2;
        int top = (size - h) / 2;
        int[] square = new int[size * size];
        Arrays.fill(square, WHITE);
        for (int y = 0; y < h; y++) {
            System.arraycopy(rgb, y * w, square, (y + top) * size + left, w);
        }
        BufferedImage out = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        out.setRGB(0, 0, size, size, square, 0, size);
        return out;
    }

    /** 0xRRGGBB pixels; alpha is blended over white with PIL's 8-bit paste arithmetic. */
    private static int[] opaqueRgb(BufferedImage image) {
        int w = image.getWidth();
        int h = image.getHeight();
        boolean hasAlpha = image.getColorModel().hasAlpha();
        int[] argb;
        if (isGray(image)) {
            // getRGB would gamma-convert a linear gray colour space; PIL copies L values straight to R, G and B
            Raster raster = image.getRaster();
            int shift = Math.max(0, raster.getSampleModel().getSampleSize(0) - 8);
            argb = new int[w * h];
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int v = raster.getSample(x, y, 0) >> shift;
                    int a = hasAlpha ? raster.getSample(x, y, 1) >> shift : 255;
                    argb[y * w + x] = (a << 24) | (v << 16) | (v << 8) | v;
                }
            }
        } else {
            argb = image.getRGB(0, 0, w, h, null, 0, w);
        }
        int[] rgb = new int[argb.length];
        for (int i = 0; i < argb.length; i++) {
            int a = hasAlpha ? (argb[i] >>> 24) : 255;
            rgb[i] = a == 255 ? argb[i] & WHITE
                    : (overWhite((argb[i] >> 16) & 0xff, a) << 16) | (overWhite((argb[i] >> 8) & 0xff, a) << 8)
                            | overWhite(argb[i] & 0xff, a);
        }
        return rgb;
    }

    /** PIL's BLEND: {@code DIV255(255 * (255 - a) + c * a)} with its rounding. */
    private static int overWhite(int c, int a) {
        int tmp = 255 * (255 - a) + c * a + 128;
        return ((tmp >> 8) + tmp) >> 8;
    }

    private static boolean isGray(BufferedImage image) {
        return image.getColorModel().getColorSpace().getType() == ColorSpace.TYPE_GRAY
                && image.getRaster().getNumBands() <= 2;
    }
}
