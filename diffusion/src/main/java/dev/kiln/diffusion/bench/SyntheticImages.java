package dev.kiln.diffusion.bench;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * Drawn training images for benchmarks and tests: a red disc on a blue-green gradient, sizes and aspect ratios
 * varying, written as real PNG and JPEG files (alternating) with a sidecar {@code .txt} caption on every second one.
 */
public final class SyntheticImages {

    private SyntheticImages() {
    }

    /**
     * Writes {@code count} images into {@code folder}.
     *
     * @param minSide the smallest side; images are {@code minSide} to {@code 1.75 × minSide} wide
     * @param caption the sidecar caption text
     */
    public static void write(Path folder, int count, int minSide, String caption, long seed) {
        Random random = new Random(seed);
        try {
            Files.createDirectories(folder);
            for (int i = 0; i < count; i++) {
                int step = Math.max(1, minSide / 4);
                int width = minSide + step * random.nextInt(4);
                int height = minSide + step * random.nextInt(3);
                BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
                Graphics2D g = image.createGraphics();
                g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
                for (int y = 0; y < height; y++) {
                    g.setColor(new Color(20, 60 + 120 * y / height, 200 - 100 * y / height));
                    g.drawLine(0, y, width, y);
                }
                int r = minSide / 5 + random.nextInt(Math.max(1, minSide / 6));
                int cx = r + random.nextInt(Math.max(1, width - 2 * r));
                int cy = r + random.nextInt(Math.max(1, height - 2 * r));
                g.setColor(new Color(220, 40 + random.nextInt(40), 30));
                g.fillOval(cx - r, cy - r, 2 * r, 2 * r);
                g.setStroke(new BasicStroke(2));
                g.setColor(Color.WHITE);
                g.drawOval(cx - r, cy - r, 2 * r, 2 * r);
                g.dispose();
                String name = String.format("img%02d", i);
                String format = i % 2 == 0 ? "png" : "jpg";
                ImageIO.write(image, format, folder.resolve(name + "." + format).toFile());
                if (i % 2 == 0) {
                    Files.writeString(folder.resolve(name + ".txt"), caption, StandardCharsets.UTF_8);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write images to " + folder, e);
        }
    }
}
