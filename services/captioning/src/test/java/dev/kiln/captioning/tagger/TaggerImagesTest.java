package dev.kiln.captioning.tagger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.awt.image.BufferedImage;
import org.junit.jupiter.api.Test;

/** WD14 preprocessing details: channel order, layout, centring of the white padding, alpha over white. */
class TaggerImagesTest {

    @Test
    void writesBgrFloatsInHwcOrChwLayout() {
        BufferedImage image = new BufferedImage(2, 2, BufferedImage.TYPE_INT_RGB);
        image.setRGB(0, 0, 0x102030);
        image.setRGB(1, 0, 0x405060);
        image.setRGB(0, 1, 0x708090);
        image.setRGB(1, 1, 0xA0B0C0);
        float[] hwc = new float[1 + 12];
        TaggerImages.write(image, 2, true, hwc, 1);
        assertArrayEquals(new float[] {0, 0x30, 0x20, 0x10, 0x60, 0x50, 0x40, 0x90, 0x80, 0x70, 0xC0, 0xB0, 0xA0},
                hwc);
        float[] chw = new float[12];
        TaggerImages.write(image, 2, false, chw, 0);
        assertArrayEquals(new float[] {0x30, 0x60, 0x90, 0xC0, 0x20, 0x50, 0x80, 0xB0, 0x10, 0x40, 0x70, 0xA0}, chw);
    }

    @Test
    void padsToACentredWhiteSquareWithTheOddPixelAfter() {
        // 1 wide, 4 tall: pad_x = 3, pad_left = 3 // 2 = 1, so the image sits in column 1
        BufferedImage column = new BufferedImage(1, 4, BufferedImage.TYPE_INT_RGB); // black
        BufferedImage square = TaggerImages.padToSquare(column);
        assertEquals(4, square.getWidth());
        assertEquals(4, square.getHeight());
        for (int y = 0; y < 4; y++) {
            for (int x = 0; x < 4; x++) {
                assertEquals(x == 1 ? 0x000000 : 0xFFFFFF, square.getRGB(x, y) & 0xFFFFFF, "pixel " + x + "," + y);
            }
        }
        // 3 wide, 2 tall: pad_y = 1 goes below (pad_top = 0)
        BufferedImage row = new BufferedImage(3, 2, BufferedImage.TYPE_INT_RGB);
        BufferedImage padded = TaggerImages.padToSquare(row);
        assertEquals(0x000000, padded.getRGB(0, 0) & 0xFFFFFF);
        assertEquals(0xFFFFFF, padded.getRGB(0, 2) & 0xFFFFFF);
    }

    @Test
    void blendsAlphaOverWhiteLikePil() {
        BufferedImage image = new BufferedImage(1, 1, BufferedImage.TYPE_INT_ARGB);
        image.setRGB(0, 0, 0x80FF0000); // red at alpha 128
        // PIL paste: (0 * 128 + 255 * 127) / 255 = 127 for green and blue, 255 for red
        assertEquals(0xFF7F7F, TaggerImages.padToSquare(image).getRGB(0, 0) & 0xFFFFFF);
    }

    @Test
    void grayImagesKeepTheirValues() {
        BufferedImage gray = new BufferedImage(1, 1, BufferedImage.TYPE_BYTE_GRAY);
        gray.getRaster().setSample(0, 0, 0, 100);
        assertEquals(0x646464, TaggerImages.padToSquare(gray).getRGB(0, 0) & 0xFFFFFF);
    }
}
