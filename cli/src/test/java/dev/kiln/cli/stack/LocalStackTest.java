package dev.kiln.cli.stack;

import dev.kiln.infra.process.ServerProcess;
import dev.kiln.model.topics.TopicSpec;
import dev.kiln.model.topics.Topics;
import io.minio.BucketExistsArgs;
import io.minio.MinioClient;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole local stack as {@code kiln up} starts it: real Kafka, real S3, the five real service jars
 * (built earlier in the reactor), each reporting ready; then everything stops.
 */
class LocalStackTest {

    @Test
    void upStartsKafkaS3BucketTopicsAndReadyServicesAndCloseStopsThemAll() throws Exception {
        Path repoRoot = Path.of("..").toAbsolutePath().normalize();
        Path dataDir = Path.of("target", "stack-test-" + System.nanoTime()).toAbsolutePath();
        int kafkaPort = ServerProcess.freePort();
        int offset = 20_000 + (int) (System.nanoTime() % 1000) * 10;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        LocalStack stack = new LocalStack(new LocalStack.Settings(repoRoot, dataDir, kafkaPort, ServerProcess.freePort(),
                ServerProcess.freePort(), "kiln", false, true, Duration.ofSeconds(180), offset),
                new PrintStream(log, true, StandardCharsets.UTF_8));
        List<Long> pids;
        try {
            stack.start();
            StackState state = stack.state();
            pids = state.processes().stream().map(StackState.Entry::pid).toList();
            assertEquals(7, pids.size(), "kafka, s3 and five services: " + state);

            try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:" + kafkaPort))) {
                Set<String> names = admin.listTopics().names().get();
                for (TopicSpec spec : Topics.SPECS) {
                    assertTrue(names.contains(spec.name()), "topic " + spec.name() + " created: " + names);
                }
            }
            Credentials creds = stack.credentials();
            MinioClient s3 = MinioClient.builder().endpoint(state.s3Endpoint())
                    .credentials(creds.accessKey(), creds.secretKey()).region("us-east-1").build();
            assertTrue(s3.bucketExists(BucketExistsArgs.builder().bucket("kiln").build()));

            HttpClient http = HttpClient.newHttpClient();
            for (StackState.Entry e : state.processes()) {
                if (e.healthUrl() == null) {
                    continue;
                }
                HttpResponse<String> ready = http.send(HttpRequest.newBuilder(URI.create(e.healthUrl())).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertEquals(200, ready.statusCode(), e.name() + " ready: " + ready.body());
                assertTrue(ready.body().contains("\"UP\""), ready.body());
            }
        } finally {
            stack.close();
        }
        for (long pid : pids) {
            assertFalse(alive(pid), "process " + pid + " still running after close");
        }
    }

    static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }
}
