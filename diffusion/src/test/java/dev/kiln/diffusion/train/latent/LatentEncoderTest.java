package dev.kiln.diffusion.train.latent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.model.dataset.BucketChoice;
import dev.kiln.model.dataset.Size;
import java.awt.image.BufferedImage;
import org.junit.jupiter.api.Test;

/** The image the VAE encodes: resized as planned, centre-cropped to the bucket, mirrored for the flipped entry. */
class LatentEncoderTest {

    @Test
    void centreCropOfTheResizedImageAndItsMirror() {
        // 80×64 image, already at its planned size, bucket 64×64: the crop starts at x = (80 − 64) / 2 = 8
        BufferedImage image = new BufferedImage(80, 64, BufferedImage.TYPE_INT_RGB);
        for (int x = 0; x < 80; x++) {
            for (int y = 0; y < 64; y++) {
                image.setRGB(x, y, x << 16 | y << 8);
            }
        }
        BucketChoice choice = new BucketChoice(new Size(64, 64), new Size(80, 64), 0.25);
        BufferedImage plain = LatentEncoder.prepare(image, choice, false);
        BufferedImage flipped = LatentEncoder.prepare(image, choice, true);
        assertEquals(64, plain.getWidth());
        assertEquals(64, plain.getHeight());
        assertEquals(8, plain.getRGB(0, 5) >> 16 & 0xff);
        assertEquals(71, plain.getRGB(63, 5) >> 16 & 0xff);
        assertEquals(5, plain.getRGB(0, 5) >> 8 & 0xff);
        assertEquals(71, flipped.getRGB(0, 5) >> 16 & 0xff);
        assertEquals(8, flipped.getRGB(63, 5) >> 16 & 0xff);
    }

    @Test
    void cacheKeysNameTheContentSizeAndFlip() {
        String sha = "ab".repeat(32);
        assertEquals(sha + "_512x768_flip.safetensors", new LatentCache.Key(sha, 512, 768, true).fileName());
        assertEquals("cache/latents/vae/" + sha + "_64x64.safetensors",
                new LatentCache.Key(sha, 64, 64, false).objectKey("vae"));
        assertThrows(IllegalArgumentException.class, () -> new LatentCache.Key("../x", 64, 64, false));
    }
}
