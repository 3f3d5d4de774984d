package dev.kiln.cli.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code kiln bench ingest} end to end on a small run: real embedded Kafka + S3 and the ingestion service's
 * fast-jar (built earlier in the reactor). Checks what the numbers rest on (every upload, warm-up ones apart, has
 * exactly its outcome and counts), not how fast anything is.
 */
class IngestBenchmarkTest {
    @TempDir
    Path work;

    @Test
    void measuresEveryUploadedImageAfterAnUntimedWarmUpRound() throws Exception {
        Path repoRoot = Path.of("..").toAbsolutePath().normalize();
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        IngestBenchmark.Settings settings = new IngestBenchmark.Settings(repoRoot, 24, 96, 64, 2, 8,
                Duration.ofMinutes(2), work);

        IngestBenchmark.Result result = new IngestBenchmark(settings, new PrintStream(printed, true,
                StandardCharsets.UTF_8)).run();

        String report = printed.toString(StandardCharsets.UTF_8);
        assertEquals(24, result.images());
        assertEquals(24, result.outcomes(), report);
        assertEquals(24, result.accepted(), report);
        assertTrue(report.contains("warm-up (untimed): 8 image(s)"), report);
        assertTrue(result.plainImagesPerSec() > 0 && result.ingestImagesPerSec() > 0, report);
        assertTrue(result.p50Millis() > 0 && result.p99Millis() >= result.p50Millis(), report);
        assertTrue(report.contains("\"ingestOverPlain\":"), report);
    }
}
