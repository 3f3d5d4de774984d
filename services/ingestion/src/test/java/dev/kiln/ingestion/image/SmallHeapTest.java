package dev.kiln.ingestion.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * An over-size header is rejected before any pixel buffer exists: in a JVM with a 32 MB heap, a 6000x6000 PNG
 * header (108 MB of RGB pixels) is rejected as too large, while the same file with a limit that lets it through
 * runs out of memory, which proves the limit check is what saved the heap.
 */
class SmallHeapTest {

    @Test
    void overSizeHeaderIsRejectedWithoutAllocatingPixels() throws Exception {
        assertEquals("TOO_LARGE", runWithSmallHeap(1_000_000));
    }

    @Test
    void withoutTheLimitTheSameHeaderExhaustsTheSmallHeap() throws Exception {
        assertEquals("OutOfMemoryError", runWithSmallHeap(100_000_000));
    }

    private static String runWithSmallHeap(long maxPixels) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process process = new ProcessBuilder(List.of(java, "-Xmx32m", "-cp", System.getProperty("java.class.path"),
                SmallHeapTest.class.getName(), Long.toString(maxPixels)))
                .redirectErrorStream(true).start();
        boolean finished = process.waitFor(60, TimeUnit.SECONDS);
        if (!finished) {
            process.destroyForcibly();
        }
        assertTrue(finished, "the child JVM did not finish in 60 s");
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        String[] lines = output.split("\\R");
        return lines[lines.length - 1];
    }

    /** Child JVM: validates a 6000x6000 PNG header with the given pixel limit, prints the reason or the error. */
    public static void main(String[] args) throws Exception {
        byte[] png = Fixtures.pngHeader(6000, 6000, Fixtures.pngChunk("IDAT", new byte[64]));
        ImageLimits limits = new ImageLimits(Long.parseLong(args[0]), 1_000_000);
        try {
            ValidationResult result = new ImageValidator().validate(Fixtures.FOLDER + "big.png",
                    new ByteArrayInputStream(png), png.length, limits);
            System.out.println(result instanceof Rejection r ? r.reason().name() : "ACCEPTED");
        } catch (OutOfMemoryError e) {
            System.out.println("OutOfMemoryError");
        }
    }
}
