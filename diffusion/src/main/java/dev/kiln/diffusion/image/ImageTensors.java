package dev.kiln.diffusion.image;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;

/**
 * Conversions between NCHW float tensors in [-1, 1] (what the VAE reads and writes) and 8-bit RGB images, with
 * the rounding diffusers and sd-scripts use, plus PNG and image-file I/O.
 */
public final class ImageTensors {

    private ImageTensors() {
    }

    /** diffusers' {@code (x / 2 + 0.5).clamp(0, 1)}: a decoded image mapped to [0, 1]. */
    public static NDArray toUnitRange(NDArray decoded) {
        return decoded.div(2f).add(0.5f).clip(0f, 1f);
    }

    /**
     * One decoded image, [3, H, W] or [1, 3, H, W] in [-1, 1], as 8-bit RGB: {@code round(clamp(x/2+0.5) * 255)}
     * with round-half-to-even like numpy in diffusers' {@code numpy_to_pil}.
     */
    public static BufferedImage toImage(NDArray decoded) {
        Shape shape = decoded.getShape();
        if (shape.dimension() == 4 && shape.get(0) == 1) {
            return toImages(decoded).get(0);
        }
        if (shape.dimension() != 3 || shape.get(0) != 3) {
            throw new IllegalArgumentException("expected an image tensor [3, H, W] or [1, 3, H, W], got " + shape);
        }
        return toRgb(decoded.toFloatArray(), 0, (int) shape.get(1), (int) shape.get(2));
    }

    /** Every image of a decoded batch [N, 3, H, W] in [-1, 1]. */
    public static List<BufferedImage> toImages(NDArray decoded) {
        Shape shape = decoded.getShape();
        if (shape.dimension() != 4 || shape.get(1) != 3) {
            throw new IllegalArgumentException("expected an image batch [N, 3, H, W], got " + shape);
        }
        int height = (int) shape.get(2);
        int width = (int) shape.get(3);
        float[] data = decoded.toFloatArray();
        List<BufferedImage> images = new ArrayList<>();
        for (int n = 0; n < shape.get(0); n++) {
            images.add(toRgb(data, n * 3 * height * width, height, width));
        }
        return images;
    }

    private static BufferedImage toRgb(float[] data, int offset, int height, int width) {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        int plane = height * width;
        int[] rgb = new int[plane];
        for (int i = 0; i < plane; i++) {
            int r = toByte(data[offset + i]);
            int g = toByte(data[offset + plane + i]);
            int b = toByte(data[offset + 2 * plane + i]);
            rgb[i] = (r << 16) | (g << 8) | b;
        }
        image.setRGB(0, 0, width, height, rgb, 0, width);
        return image;
    }

    private static int toByte(float x) {
        float unit = x / 2f + 0.5f;
        // NaN compares false both ways and ends at 0, like a float -> uint8 cast of a clamped NaN in numpy
        unit = unit > 1f ? 1f : (unit >= 0f ? unit : 0f);
        return (int) Math.rint(unit * 255f);
    }

    /**
     * An RGB image as a float32 tensor [1, 3, H, W] in [-1, 1], as sd-scripts feeds the VAE
     * ({@code ToTensor()} then {@code Normalize(0.5, 0.5)}): {@code (v / 255 - 0.5) / 0.5}. Alpha is dropped.
     */
    public static NDArray fromImage(BufferedImage image, NDManager manager) {
        int width = image.getWidth();
        int height = image.getHeight();
        int plane = width * height;
        int[] rgb = image.getRGB(0, 0, width, height, null, 0, width);
        float[] data = new float[3 * plane];
        for (int i = 0; i < plane; i++) {
            data[i] = normalize((rgb[i] >> 16) & 0xff);
            data[plane + i] = normalize((rgb[i] >> 8) & 0xff);
            data[2 * plane + i] = normalize(rgb[i] & 0xff);
        }
        return manager.create(data, new Shape(1, 3, height, width));
    }

    private static float normalize(int value) {
        return (value / 255f - 0.5f) / 0.5f;
    }

    /** Writes a PNG, creating parent folders. */
    public static void writePng(BufferedImage image, Path file) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            if (!ImageIO.write(image, "png", file.toFile())) {
                throw new IllegalStateException("no PNG writer available for " + file);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write PNG " + file, e);
        }
    }

    /** Reads an image file (PNG, JPEG, BMP, GIF) as 8-bit RGB; fails naming the file if it is not an image. */
    public static BufferedImage read(Path file) {
        BufferedImage image;
        try {
            image = ImageIO.read(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read image " + file, e);
        }
        if (image == null) {
            throw new IllegalArgumentException(file + " is not an image format this reader understands");
        }
        if (image.getType() == BufferedImage.TYPE_INT_RGB) {
            return image;
        }
        if (image.getColorModel().getColorSpace().getType() == ColorSpace.TYPE_GRAY
                && !(image.getColorModel() instanceof IndexColorModel)
                && image.getColorModel().getComponentSize(0) == 8) {
            // grayscale: take the stored levels (getRGB would apply a gamma conversion PIL does not)
            return grayToRgb(image);
        }
        BufferedImage rgb = new BufferedImage(image.getWidth(), image.getHeight(), BufferedImage.TYPE_INT_RGB);
        rgb.setRGB(0, 0, image.getWidth(), image.getHeight(),
                image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth()), 0,
                image.getWidth());
        return rgb;
    }

    private static BufferedImage grayToRgb(BufferedImage gray) {
        int width = gray.getWidth();
        int height = gray.getHeight();
        int[] levels = gray.getRaster().getSamples(0, 0, width, height, 0, (int[]) null);
        int[] rgb = new int[levels.length];
        for (int i = 0; i < levels.length; i++) {
            rgb[i] = levels[i] * 0x010101;
        }
        BufferedImage out = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        out.setRGB(0, 0, width, height, rgb, 0, width);
        return out;
    }
}
