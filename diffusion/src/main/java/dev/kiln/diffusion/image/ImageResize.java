package dev.kiln.diffusion.image;

import java.awt.image.BufferedImage;

/**
 * Resizing of 8-bit RGB images the way sd-scripts does it ({@code library/utils.py resize_image}): OpenCV
 * {@code INTER_AREA} when shrinking in both directions, PIL {@code LANCZOS} whenever a side grows. Both are
 * re-implemented here (no OpenCV/PIL on the JVM) following their published algorithms, so cached latents match.
 */
public final class ImageResize {

    /** PIL's fixed-point precision for 8-bit resampling coefficients. */
    private static final int PRECISION_BITS = 32 - 8 - 2;

    private ImageResize() {
    }

    /** sd-scripts' default choice: area when {@code width <= w0 && height <= h0}, Lanczos otherwise. */
    public static BufferedImage resize(BufferedImage image, int width, int height) {
        checkSize(width, height);
        if (width == image.getWidth() && height == image.getHeight()) {
            return image;
        }
        return image.getWidth() >= width && image.getHeight() >= height
                ? area(image, width, height) : lanczos(image, width, height);
    }

    /**
     * OpenCV {@code INTER_AREA} downscaling: each output pixel is the average of the source area it covers,
     * partial source pixels weighted by coverage. Integer factors use OpenCV's integer fast path.
     */
    public static BufferedImage area(BufferedImage image, int width, int height) {
        checkSize(width, height);
        int srcW = image.getWidth();
        int srcH = image.getHeight();
        if (width > srcW || height > srcH) {
            throw new IllegalArgumentException("area resampling only shrinks: " + srcW + "x" + srcH + " -> "
                    + width + "x" + height);
        }
        int[][] src = channels(image);
        double scaleX = (double) srcW / width;
        double scaleY = (double) srcH / height;
        int[][] out = new int[3][width * height];
        boolean integerScale = scaleX == Math.rint(scaleX) && scaleY == Math.rint(scaleY);
        if (integerScale) {
            int fx = (int) scaleX;
            int fy = (int) scaleY;
            int areaSize = fx * fy;
            float inverse = 1f / areaSize;
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < height; y++) {
                    for (int x = 0; x < width; x++) {
                        int sum = 0;
                        for (int dy = 0; dy < fy; dy++) {
                            for (int dx = 0; dx < fx; dx++) {
                                sum += src[c][(y * fy + dy) * srcW + x * fx + dx];
                            }
                        }
                        // OpenCV's 2x2 kernel rounds half up; the generic integer path rounds sum/area half even
                        out[c][y * width + x] = areaSize == 4 && fx == 2 ? (sum + 2) >> 2
                                : (int) Math.rint(sum * inverse);
                    }
                }
            }
            return fromChannels(out, width, height);
        }
        AreaWeights wx = areaWeights(srcW, width, scaleX);
        AreaWeights wy = areaWeights(srcH, height, scaleY);
        float[] row = new float[width];
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < height; y++) {
                float[] sum = new float[width];
                for (int k = wy.start[y]; k < wy.start[y + 1]; k++) {
                    int sy = wy.source[k];
                    java.util.Arrays.fill(row, 0f);
                    for (int x = 0; x < width; x++) {
                        for (int j = wx.start[x]; j < wx.start[x + 1]; j++) {
                            row[x] += wx.weight[j] * src[c][sy * srcW + wx.source[j]];
                        }
                    }
                    for (int x = 0; x < width; x++) {
                        sum[x] += row[x] * wy.weight[k];
                    }
                }
                for (int x = 0; x < width; x++) {
                    out[c][y * width + x] = clamp8((int) Math.rint(sum[x]));
                }
            }
        }
        return fromChannels(out, width, height);
    }

    /** Source indices and weights per output pixel (CSR layout), as OpenCV's {@code computeResizeAreaTab}. */
    private record AreaWeights(int[] start, int[] source, float[] weight) {
    }

    private static AreaWeights areaWeights(int srcSize, int dstSize, double scale) {
        java.util.List<int[]> entries = new java.util.ArrayList<>();
        java.util.List<Float> weights = new java.util.ArrayList<>();
        int[] start = new int[dstSize + 1];
        for (int d = 0; d < dstSize; d++) {
            start[d] = weights.size();
            double from = d * scale;
            double to = from + scale;
            double cellWidth = Math.min(scale, srcSize - from);
            int first = (int) Math.ceil(from);
            int last = Math.min((int) Math.floor(to), srcSize - 1);
            first = Math.min(first, last);
            if (first - from > 1e-3) {
                entries.add(new int[] {first - 1});
                weights.add((float) ((first - from) / cellWidth));
            }
            for (int s = first; s < last; s++) {
                entries.add(new int[] {s});
                weights.add((float) (1.0 / cellWidth));
            }
            if (to - last > 1e-3) {
                entries.add(new int[] {last});
                weights.add((float) (Math.min(Math.min(to - last, 1.0), cellWidth) / cellWidth));
            }
        }
        start[dstSize] = weights.size();
        int[] source = new int[entries.size()];
        float[] weight = new float[weights.size()];
        for (int i = 0; i < source.length; i++) {
            source[i] = entries.get(i)[0];
            weight[i] = weights.get(i);
        }
        return new AreaWeights(start, source, weight);
    }

    /**
     * PIL {@code Image.LANCZOS} (a = 3) resampling, horizontal pass then vertical, with PIL's 8-bit fixed-point
     * coefficients and rounding; when shrinking the kernel is widened by the scale factor (antialiasing).
     */
    public static BufferedImage lanczos(BufferedImage image, int width, int height) {
        checkSize(width, height);
        int srcW = image.getWidth();
        int srcH = image.getHeight();
        int[][] channels = channels(image);
        int curW = srcW;
        if (width != srcW) {
            channels = resampleRows(channels, srcW, srcH, width);
            curW = width;
        }
        if (height != srcH) {
            channels = transpose(resampleRows(transpose(channels, curW, srcH), srcH, curW, height), curW, height);
        }
        return fromChannels(channels, width, height);
    }

    /** Resamples every row of [rows x inSize] planes to outSize columns. */
    private static int[][] resampleRows(int[][] planes, int inSize, int rows, int outSize) {
        double scale = (double) inSize / outSize;
        double filterScale = Math.max(scale, 1.0);
        double support = 3.0 * filterScale;
        double inverseFilterScale = 1.0 / filterScale;
        int[] bounds = new int[2 * outSize];
        int[][] coefficients = new int[outSize][];
        for (int x = 0; x < outSize; x++) {
            double center = (x + 0.5) * scale;
            int min = Math.max((int) (center - support + 0.5), 0);
            int count = Math.min((int) (center + support + 0.5), inSize) - min;
            double[] k = new double[count];
            double total = 0;
            for (int i = 0; i < count; i++) {
                k[i] = lanczos3((i + min - center + 0.5) * inverseFilterScale);
                total += k[i];
            }
            int[] fixed = new int[count];
            for (int i = 0; i < count; i++) {
                double w = total != 0 ? k[i] / total : 0;
                fixed[i] = (int) (w < 0 ? w * (1 << PRECISION_BITS) - 0.5 : w * (1 << PRECISION_BITS) + 0.5);
            }
            bounds[2 * x] = min;
            bounds[2 * x + 1] = count;
            coefficients[x] = fixed;
        }
        int[][] out = new int[planes.length][rows * outSize];
        for (int c = 0; c < planes.length; c++) {
            for (int y = 0; y < rows; y++) {
                for (int x = 0; x < outSize; x++) {
                    long sum = 1L << (PRECISION_BITS - 1);
                    int min = bounds[2 * x];
                    int[] k = coefficients[x];
                    for (int i = 0; i < k.length; i++) {
                        sum += (long) k[i] * planes[c][y * inSize + min + i];
                    }
                    out[c][y * outSize + x] = clamp8((int) (sum >> PRECISION_BITS));
                }
            }
        }
        return out;
    }

    private static double lanczos3(double x) {
        if (x <= -3.0 || x >= 3.0) {
            return 0;
        }
        return sinc(x) * sinc(x / 3.0);
    }

    private static double sinc(double x) {
        if (x == 0) {
            return 1;
        }
        double px = Math.PI * x;
        return Math.sin(px) / px;
    }

    private static int[][] transpose(int[][] planes, int width, int height) {
        int[][] out = new int[planes.length][width * height];
        for (int c = 0; c < planes.length; c++) {
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    out[c][x * height + y] = planes[c][y * width + x];
                }
            }
        }
        return out;
    }

    private static int[][] channels(BufferedImage image) {
        int w = image.getWidth();
        int h = image.getHeight();
        int[] rgb = image.getRGB(0, 0, w, h, null, 0, w);
        int[][] planes = new int[3][rgb.length];
        for (int i = 0; i < rgb.length; i++) {
            planes[0][i] = (rgb[i] >> 16) & 0xff;
            planes[1][i] = (rgb[i] >> 8) & 0xff;
            planes[2][i] = rgb[i] & 0xff;
        }
        return planes;
    }

    private static BufferedImage fromChannels(int[][] planes, int width, int height) {
        int[] rgb = new int[width * height];
        for (int i = 0; i < rgb.length; i++) {
            rgb[i] = (planes[0][i] << 16) | (planes[1][i] << 8) | planes[2][i];
        }
        BufferedImage out = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        out.setRGB(0, 0, width, height, rgb, 0, width);
        return out;
    }

    private static int clamp8(int v) {
        return v < 0 ? 0 : Math.min(v, 255);
    }

    private static void checkSize(int width, int height) {
        if (width < 1 || height < 1) {
            throw new IllegalArgumentException("target size must be positive, got " + width + "x" + height);
        }
    }
}
