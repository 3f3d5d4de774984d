package dev.kiln.cli.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.kiln.cli.job.ConnectionOptions;
import dev.kiln.cli.job.ProgressWatcher;
import dev.kiln.cli.stack.LocalStack;
import dev.kiln.cli.stack.StackState;
import dev.kiln.diffusion.lora.LoraNetwork;
import dev.kiln.diffusion.safetensors.SafeTensors;
import dev.kiln.infra.process.ServerProcess;
import dev.kiln.model.events.ProgressType;
import dev.kiln.model.events.TrainingProgress;
import dev.kiln.model.keys.ObjectKeys;
import dev.kiln.model.topics.Topics;
import io.minio.DownloadObjectArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.StatObjectArgs;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The product end to end, as {@code kiln demo} and a user run it: the local stack (real Kafka, real S3, the five
 * service jars built earlier in the reactor), the tiny model and the repository's photographs uploaded to the bucket,
 * a job.toml uploaded, and everything else happening through topics: ingestion, captions, planning, latent caching,
 * training, sample rendering. Three jobs: one completes with a kohya LoRA and its samples, one is cancelled, and one
 * loses its trainer to SIGKILL mid-run and completes exactly once on the restarted trainer.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PipelineEndToEndTest {
    private static final Duration JOB_TIMEOUT = Duration.ofMinutes(6);

    @TempDir
    Path scratch;

    private LocalStack stack;
    private ConnectionOptions connection;
    private MinioClient s3;
    private String bucket;
    private Path dataDir;
    private final ByteArrayOutputStream stackLog = new ByteArrayOutputStream();

    @BeforeAll
    void startStack() {
        Path repoRoot = Path.of("..").toAbsolutePath().normalize();
        dataDir = Path.of("target", "e2e-" + System.nanoTime()).toAbsolutePath();
        int offset = 21_000 + (int) (System.nanoTime() % 1000) * 10;
        stack = new LocalStack(new LocalStack.Settings(repoRoot, dataDir, ServerProcess.freePort(),
                ServerProcess.freePort(), ServerProcess.freePort(), "kiln", false, true, Duration.ofMinutes(4), offset,
                // a resumable state every 4 steps, every step event sent: the kill test needs both
                Map.of("KILN_TRAINER_STATE_EVERY_STEPS", "4", "KILN_TRAINER_STEP_EVENT_INTERVAL", "0s")),
                new PrintStream(stackLog, true, StandardCharsets.UTF_8));
        stack.start();
        StackState state = stack.state();
        connection = ConnectionOptions.of(state.kafkaBootstrap(), state.s3Endpoint(), state.bucket(), dataDir);
        s3 = connection.s3Client();
        bucket = state.bucket();
    }

    @AfterAll
    void stopStack() {
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    void aJobUploadedToTheBucketTrainsToAKohyaLoraWithSamples() throws Exception {
        DemoJob job = DemoJob.of("e2e-demo", 8, 4);
        List<TrainingProgress> events = new ArrayList<>();
        try (ProgressWatcher watcher = submit(job, "")) {
            TrainingProgress end = awaitEnd(watcher, events);
            assertEquals(ProgressType.COMPLETED, end.type(), () -> "job ended " + end + "\n" + logs());
            String loraKey = ObjectKeys.finalModel(job.name(), DemoJob.OUTPUT_NAME);
            assertEquals(ObjectKeys.s3Uri(bucket, loraKey), end.artifact());
            // the sampler renders the last checkpoint's prompts after training ended
            watcher.awaitMatching(JOB_TIMEOUT, e -> samples(events) >= job.expectedSamples(), events::add, w -> { });
            assertEquals(job.expectedSamples(), samples(events), "every prompt at steps 4 and 8: " + events);

            Path lora = download(loraKey);
            try (NDManager manager = NDManager.newBaseManager(); SafeTensors file = SafeTensors.open(lora)) {
                LoraNetwork network = LoraNetwork.load(lora, manager);
                assertFalse(network.modules().isEmpty());
                assertTrue(file.names().stream().allMatch(n -> n.startsWith("lora_unet_") || n.startsWith("lora_te_")),
                        "kohya key names: " + file.names());
                Map<String, String> metadata = file.metadata();
                assertEquals("networks.lora", metadata.get("ss_network_module"));
                assertEquals(DemoJob.OUTPUT_NAME, metadata.get("ss_output_name"));
                assertEquals("8", metadata.get("ss_steps"));
                assertEquals("8", metadata.get("ss_network_dim"));
                assertTrue(metadata.containsKey("sshs_model_hash"), metadata.keySet().toString());
            }
        }
        // every stage reported, in the pipeline's order
        List<String> stages = events.stream().map(e -> e.stage().wire() + ":" + e.type().wire()).distinct().toList();
        for (String expected : List.of("ingestion:submitted", "planning:planned", "training:started", "training:step",
                "training:checkpoint", "training:completed", "sampling:sample")) {
            assertTrue(stages.contains(expected), expected + " in " + stages);
        }
        assertTrue(stages.indexOf("planning:planned") < stages.indexOf("training:started"), stages.toString());
    }

    @Test
    void cancelEndsTheJobAndNoStepFollows() throws Exception {
        DemoJob job = DemoJob.of("e2e-cancel", 2000, 0);
        List<TrainingProgress> events = new ArrayList<>();
        try (ProgressWatcher watcher = submit(job, "")) {
            assertTrue(watcher.awaitMatching(JOB_TIMEOUT, e -> e.type() == ProgressType.STEP && e.step() >= 3,
                    events::add, w -> { }), () -> "no step 3: " + events + "\n" + logs());
            control(job.name(), "cancel");
            TrainingProgress end = awaitEnd(watcher, events);
            assertEquals(ProgressType.CANCELLED, end.type(), end::toString);
            watcher.awaitMatching(Duration.ofSeconds(5), e -> false, events::add, w -> { });
        }
        int cancelled = indexOf(events, e -> e.type() == ProgressType.CANCELLED);
        assertTrue(events.subList(cancelled + 1, events.size()).stream().noneMatch(e -> e.type() == ProgressType.STEP),
                "no step after cancelled: " + events);
        assertTrue(events.get(cancelled).step() < 2000);
    }

    @Test
    void aTrainerKilledMidJobIsReplacedAndTheJobCompletesOnce() throws Exception {
        DemoJob job = DemoJob.of("e2e-kill", 24, 0);
        List<TrainingProgress> events = new ArrayList<>();
        try (ProgressWatcher watcher = submit(job, "")) {
            String latest = ObjectKeys.stateKey(job.name(), "latest");
            assertTrue(watcher.awaitMatching(JOB_TIMEOUT, e -> e.type() == ProgressType.STEP && e.step() >= 6
                    && exists(latest), events::add, w -> { }), () -> "no state by step 6: " + events + "\n" + logs());
            stack.kill("trainer");
            long killedAfter = events.stream().filter(e -> e.type() == ProgressType.STEP)
                    .mapToLong(TrainingProgress::step).max().orElseThrow();
            stack.restart("trainer");
            TrainingProgress end = awaitEnd(watcher, events);
            assertEquals(ProgressType.COMPLETED, end.type(), () -> end + "\n" + logs());
            assertEquals(24, end.step());
            watcher.awaitMatching(Duration.ofSeconds(10), e -> false, events::add, w -> { });

            List<TrainingProgress> starts = events.stream().filter(e -> e.type() == ProgressType.STARTED).toList();
            assertEquals(2, starts.size(), "started, then resumed: " + starts);
            long resumedAt = starts.get(1).step();
            assertTrue(resumedAt > 0 && resumedAt <= killedAfter && resumedAt % 4 == 0,
                    "resumed from a saved state (every 4 steps) at or before step " + killedAfter + ": " + resumedAt);
            assertEquals(1, events.stream().filter(e -> e.type().isTerminal()).count(), "one terminal event: " + events);
            assertTrue(exists(ObjectKeys.finalModel(job.name(), DemoJob.OUTPUT_NAME)));
        }
    }

    private ProgressWatcher submit(DemoJob job, String extra) throws Exception {
        job.uploadModel(s3, bucket, scratch.resolve("models"));
        job.uploadPhotos(s3, bucket, Path.of("..", "demo", "photos"));
        ProgressWatcher watcher = ProgressWatcher.open(connection, job.name(), ProgressWatcher.Start.NOW, JOB_TIMEOUT);
        byte[] toml = job.toml(extra).getBytes(StandardCharsets.UTF_8);
        s3.putObject(PutObjectArgs.builder().bucket(bucket).object(ObjectKeys.jobSpec(job.name()))
                .stream(new ByteArrayInputStream(toml), toml.length, -1).build());
        return watcher;
    }

    private TrainingProgress awaitEnd(ProgressWatcher watcher, List<TrainingProgress> events) {
        Optional<TrainingProgress> end = watcher.await(JOB_TIMEOUT, events::add, w -> { });
        assertTrue(end.isPresent(), () -> "no terminal event within " + JOB_TIMEOUT + ": " + events + "\n" + logs());
        return end.get();
    }

    private void control(String job, String command) {
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, connection.kafkaBootstrap(),
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class))) {
            producer.send(new ProducerRecord<>(Topics.TRAINING_CONTROL, job,
                    "{\"jobId\":\"" + job + "\",\"command\":\"" + command + "\"}"));
        }
    }

    private boolean exists(String key) {
        try {
            s3.statObject(StatObjectArgs.builder().bucket(bucket).object(key).build());
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    private Path download(String key) throws Exception {
        Path file = scratch.resolve(key.replace('/', '_'));
        s3.downloadObject(DownloadObjectArgs.builder().bucket(bucket).object(key).filename(file.toString()).build());
        return file;
    }

    private static long samples(List<TrainingProgress> events) {
        return events.stream().filter(e -> e.type() == ProgressType.SAMPLE).count();
    }

    private static int indexOf(List<TrainingProgress> events, Predicate<TrainingProgress> match) {
        for (int i = 0; i < events.size(); i++) {
            if (match.test(events.get(i))) {
                return i;
            }
        }
        throw new AssertionError("no such event in " + events);
    }

    /** The tail of every service's log, for a failure message. */
    private String logs() {
        StringBuilder out = new StringBuilder(stackLog.toString(StandardCharsets.UTF_8));
        try (var dirs = Files.list(dataDir.resolve("services"))) {
            for (Path dir : dirs.toList()) {
                List<String> lines = Files.readAllLines(dir.resolve("service.log"));
                out.append("\n--- ").append(dir.getFileName()).append(" ---\n")
                        .append(String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size())));
            }
        } catch (Exception e) {
            out.append("\n(no service logs: ").append(e.getMessage()).append(')');
        }
        return out.toString();
    }
}
