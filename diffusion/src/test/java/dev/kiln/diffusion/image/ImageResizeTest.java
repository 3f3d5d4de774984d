package dev.kiln.diffusion.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.awt.image.BufferedImage;
import org.junit.jupiter.api.Test;

class ImageResizeTest {

    @Test
    void areaAveragesCoveredPixelsWithPartialCoverageWeights() {
        // 3 -> 2 columns: each output covers 1.5 source pixels: (2/3) p0 + (1/3) p1 and (1/3) p1 + (2/3) p2
        BufferedImage src = gray(new int[][] {{0, 90, 180}, {30, 60, 90}});
        BufferedImage out = ImageResize.area(src, 2, 1);
        // row average first: columns (15, 75, 135) -> (2/3*15 + 1/3*75, 1/3*75 + 2/3*135) = (35, 115)
        assertEquals(35, level(out, 0, 0));
        assertEquals(115, level(out, 1, 0));
    }

    @Test
    void areaWithAnIntegerFactorIsTheBlockMeanRoundedLikeOpenCv() {
        BufferedImage src = gray(new int[][] {
            {10, 20, 0, 1, 255, 255},
            {30, 40, 0, 1, 255, 254}});
        BufferedImage out = ImageResize.area(src, 3, 1);
        assertEquals(25, level(out, 0, 0));
        assertEquals(1, level(out, 1, 0), "0.5 rounds up in OpenCV's 2x2 kernel");
        assertEquals(255, level(out, 2, 0), "254.75 rounds to 255");
        BufferedImage thirds = ImageResize.area(gray(new int[][] {{1, 1, 2}}), 1, 1);
        assertEquals(1, level(thirds, 0, 0), "4/3 rounds to 1");
    }

    @Test
    void lanczosKeepsFlatImagesFlatAndIsSymmetric() {
        BufferedImage flat = gray(new int[][] {{77, 77, 77}, {77, 77, 77}});
        BufferedImage up = ImageResize.lanczos(flat, 7, 5);
        for (int y = 0; y < 5; y++) {
            for (int x = 0; x < 7; x++) {
                assertEquals(77, level(up, x, y));
            }
        }
        BufferedImage step = gray(new int[][] {{0, 0, 255, 255}});
        BufferedImage wide = ImageResize.lanczos(step, 8, 1);
        for (int x = 0; x < 8; x++) {
            assertEquals(255, level(wide, x, 0) + level(wide, 7 - x, 0), "mirror symmetry at " + x);
        }
        // the edge stays between the two middle samples; the far ends see the third lobe (+0.038 of 255 at x=0)
        assertEquals(true, level(wide, 3, 0) < 128 && level(wide, 4, 0) > 128);
        assertEquals(10, level(wide, 0, 0), "L(0.25), L(1.25), L(2.25) normalised: 255 * 0.0300 / 0.787");
    }

    @Test
    void kohyaRuleUsesAreaToShrinkAndLanczosToGrow() {
        BufferedImage src = gray(new int[][] {{0, 100, 200, 250}, {0, 100, 200, 250}});
        assertEquals(ImageResize.area(src, 2, 1).getRGB(0, 0), ImageResize.resize(src, 2, 1).getRGB(0, 0));
        BufferedImage grown = ImageResize.resize(src, 3, 4);
        BufferedImage lanczos = ImageResize.lanczos(src, 3, 4);
        for (int y = 0; y < 4; y++) {
            for (int x = 0; x < 3; x++) {
                assertEquals(lanczos.getRGB(x, y), grown.getRGB(x, y));
            }
        }
        assertThrows(IllegalArgumentException.class, () -> ImageResize.area(src, 8, 1));
        assertThrows(IllegalArgumentException.class, () -> ImageResize.resize(src, 0, 1));
    }

    private static BufferedImage gray(int[][] rows) {
        BufferedImage image = new BufferedImage(rows[0].length, rows.length, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < rows.length; y++) {
            for (int x = 0; x < rows[y].length; x++) {
                image.setRGB(x, y, rows[y][x] * 0x010101);
            }
        }
        return image;
    }

    private static int level(BufferedImage image, int x, int y) {
        int rgb = image.getRGB(x, y);
        assertEquals(rgb & 0xff, (rgb >> 16) & 0xff, "gray stays gray");
        return rgb & 0xff;
    }
}
