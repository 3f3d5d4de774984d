package dev.kiln.ingestion.image.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IngestDecodeBaselineTest {

    @Test
    void timesEveryImageUnderTheFolder(@TempDir Path dir) throws IOException {
        BufferedImage image = new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB);
        ImageIO.write(image, "png", dir.resolve("a.png").toFile());
        Files.createDirectories(dir.resolve("sub"));
        ImageIO.write(image, "jpeg", dir.resolve("sub/b.JPG").toFile());
        Files.writeString(dir.resolve("notes.txt"), "not an image");
        IngestDecodeBaseline.Result result = IngestDecodeBaseline.run(dir, 1);
        assertEquals(2, result.images());
        assertEquals(0, result.plainFailures());
        assertEquals(Files.size(dir.resolve("a.png")) + Files.size(dir.resolve("sub/b.JPG")), result.bytes());
        assertTrue(result.plainImagesPerSecond() > 0 && result.validateImagesPerSecond() > 0);
        assertTrue(result.toJson().startsWith("{\"images\":2,"), result.toJson());
    }

    @Test
    void anEmptyFolderIsAnError(@TempDir Path dir) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> IngestDecodeBaseline.run(dir, 1));
        assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
    }
}
