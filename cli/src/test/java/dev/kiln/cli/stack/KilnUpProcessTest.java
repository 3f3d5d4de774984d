package dev.kiln.cli.stack;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.infra.process.ServerProcess;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@code kiln up --infra-only} as a real process: SIGTERM, and even SIGKILL, of kiln leaves no child running.
 */
class KilnUpProcessTest {

    @Test
    void sigtermStopsEveryChild() throws Exception {
        Started kiln = startKilnUp();
        kiln.process.destroy(); // SIGTERM
        assertTrue(kiln.process.waitFor(60, TimeUnit.SECONDS), "kiln exits on SIGTERM");
        assertAllGone(kiln.childPids, Duration.ofSeconds(5));
    }

    @Test
    void sigkillOfKilnStillTakesTheChildrenDown() throws Exception {
        Started kiln = startKilnUp();
        kiln.process.destroyForcibly(); // SIGKILL: no shutdown hook runs; the children's stdin watchdog must act
        kiln.process.waitFor(30, TimeUnit.SECONDS);
        assertAllGone(kiln.childPids, Duration.ofSeconds(30));
    }

    private record Started(Process process, List<Long> childPids) {}

    private static Started startKilnUp() throws Exception {
        Path dataDir = Path.of("target", "kiln-up-" + System.nanoTime()).toAbsolutePath();
        String cp = System.getProperty("java.class.path");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", cp, "dev.kiln.cli.Kiln", "up", "--infra-only",
                "--data-dir", dataDir.toString(),
                "--kafka-port", Integer.toString(ServerProcess.freePort()),
                "--s3-port", Integer.toString(ServerProcess.freePort()))
                .redirectErrorStream(true).start();
        StringBuilder output = new StringBuilder();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            String line;
            while (System.nanoTime() < deadline && (line = r.readLine()) != null) {
                output.append(line).append('\n');
                if (line.contains("Kafka and S3 are up")) {
                    break;
                }
            }
        }
        Path stateFile = dataDir.resolve("stack.json");
        if (!Files.exists(stateFile)) {
            p.destroyForcibly();
            fail("kiln up did not come up:\n" + output);
        }
        StackState state = new ObjectMapper().readValue(stateFile.toFile(), StackState.class);
        List<Long> pids = new ArrayList<>();
        state.processes().forEach(e -> pids.add(e.pid()));
        assertTrue(pids.size() == 2 && pids.stream().allMatch(LocalStackTest::alive), "kafka and s3 running: " + state);
        return new Started(p, pids);
    }

    private static void assertAllGone(List<Long> pids, Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (System.nanoTime() < deadline && pids.stream().anyMatch(LocalStackTest::alive)) {
            Thread.sleep(200);
        }
        for (long pid : pids) {
            assertFalse(LocalStackTest.alive(pid), "child " + pid + " outlived kiln");
        }
    }
}
