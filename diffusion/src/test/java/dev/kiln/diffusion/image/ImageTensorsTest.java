package dev.kiln.diffusion.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.kiln.diffusion.golden.GoldenData;
import dev.kiln.diffusion.nn.GoldenTensors;
import dev.kiln.diffusion.nn.GoldenTensors.Captured;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ImageTensorsTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"tiny-sd15", "tiny-sd2-vpred"})
    void unitRangeMatchesThePipelineOutputOfTheGoldenDecode(String configName) {
        try (GoldenTensors golden = new GoldenTensors(GoldenData.config(configName), "sampling.safetensors");
             NDManager manager = NDManager.newBaseManager()) {
            for (String sampler : new String[] {"ddim", "euler_a"}) {
                NDArray raw = golden.load(sampler + ".image_raw", manager);
                String failure = golden.check(sampler + ".image", Captured.of(ImageTensors.toUnitRange(raw)));
                assertEquals(null, failure);
                // the 8-bit image is the same values scaled by 255 and rounded
                BufferedImage image = ImageTensors.toImage(raw);
                float[] unit = ImageTensors.toUnitRange(raw).toFloatArray();
                int w = image.getWidth();
                int h = image.getHeight();
                assertEquals(raw.getShape().get(3), w);
                assertEquals(raw.getShape().get(2), h);
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        int green = (image.getRGB(x, y) >> 8) & 0xff;
                        assertEquals(unit[h * w + y * w + x] * 255f, green, 0.5f, "green at " + x + "," + y);
                    }
                }
            }
        }
    }

    @Test
    void pngRoundTripKeepsEveryPixelAndFromImageNormalizesLikeSdScripts() {
        try (NDManager manager = NDManager.newBaseManager()) {
            // values chosen to hit both ends, the middle and the clamp
            float[] data = {-1f, 1f, 0f, 2f, -3f, 0.5f, // red plane (2x3)
                -0.5f, 0.25f, 1f, -1f, 0.999f, 0f,            // green
                0f, 0f, 0f, 1f, 1f, 1f};                     // blue
            NDArray decoded = manager.create(data, new Shape(1, 3, 2, 3));
            BufferedImage image = ImageTensors.toImage(decoded);
            assertEquals(0x004080, image.getRGB(0, 0) & 0xffffff, "(-1, -0.5, 0) -> (0, 64, 128): 127.5 rounds to even");
            Path file = dir.resolve("sub/out.png");
            ImageTensors.writePng(image, file);
            assertTrue(Files.isRegularFile(file));
            BufferedImage back = ImageTensors.read(file);
            for (int y = 0; y < 2; y++) {
                for (int x = 0; x < 3; x++) {
                    assertEquals(image.getRGB(x, y), back.getRGB(x, y));
                }
            }
            float[] tensor = ImageTensors.fromImage(back, manager).toFloatArray();
            // red channel: 0, 255, 128 (0.5*255=127.5 rounds half to even -> 128), 255 (clamped), 0, 191
            assertArrayEquals(new float[] {-1f, 1f, (128 / 255f - 0.5f) / 0.5f, 1f, -1f, (191 / 255f - 0.5f) / 0.5f},
                    java.util.Arrays.copyOfRange(tensor, 0, 6));
        }
    }

    @Test
    void grayscalePngKeepsItsLevelsAsRgb() throws Exception {
        BufferedImage gray = new BufferedImage(2, 1, BufferedImage.TYPE_BYTE_GRAY);
        gray.getRaster().setSample(0, 0, 0, 50);
        gray.getRaster().setSample(1, 0, 0, 200);
        Path file = dir.resolve("gray.png");
        javax.imageio.ImageIO.write(gray, "png", file.toFile());
        BufferedImage rgb = ImageTensors.read(file);
        assertEquals(50 * 0x010101, rgb.getRGB(0, 0) & 0xffffff, "PIL convert('RGB') copies the level");
        assertEquals(200 * 0x010101, rgb.getRGB(1, 0) & 0xffffff);
    }

    @Test
    void readingSomethingThatIsNotAnImageNamesTheFile() throws Exception {
        Path bogus = dir.resolve("notes.png");
        Files.writeString(bogus, "not an image");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ImageTensors.read(bogus));
        assertTrue(e.getMessage().contains("notes.png"), e.getMessage());
    }
}
