package dev.kiln.cli.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.infra.process.ServerProcess;
import dev.kiln.model.events.ProgressType;
import dev.kiln.model.events.Stage;
import dev.kiln.model.events.TrainingProgress;
import io.minio.GetObjectArgs;
import io.minio.GetObjectResponse;
import io.minio.StatObjectArgs;
import io.minio.errors.ErrorResponseException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code kiln submit} against a real S3 server (and a real Kafka broker for {@code --watch}). */
class SubmitCommandTest {
    private static JobTestStack stack;

    @TempDir
    Path dir;

    @BeforeAll
    static void startStack() throws Exception {
        stack = JobTestStack.get();
    }

    // comments, odd spacing and non-ASCII text must reach S3 byte for byte: the services read the same file
    private static final String JOB = """
            # cat LoRA — überprüft
            method = "lora"
            pretrained_model_name_or_path = "models/sd15.safetensors"
            network_dim   = 8
            learning_rate = 1e-4
            max_train_steps = 100
            sample_prompts = ["a photo of sks cat --w 512 --h 512"]
            [[datasets]]
            resolution = 512
              [[datasets.subsets]]
              image_dir = "datasets/cats/10_sks cat"
            """;

    private byte[] stored(String key) throws Exception {
        try (GetObjectResponse in = stack.s3Client.getObject(
                GetObjectArgs.builder().bucket(JobTestStack.BUCKET).object(key).build())) {
            return in.readAllBytes();
        }
    }

    private void assertNotStored(String key) {
        ErrorResponseException e = assertThrows(ErrorResponseException.class, () -> stack.s3Client.statObject(
                StatObjectArgs.builder().bucket(JobTestStack.BUCKET).object(key).build()));
        assertEquals("NoSuchKey", e.errorResponse().code());
    }

    @Test
    void uploadsTheExactBytesToJobsFolderNamedAfterTheParentFolder() throws Exception {
        Path file = JobTestStack.write(dir.resolve("jobs/cat-lora/job.toml"), JOB);

        JobTestStack.Run run = stack.execute(new SubmitCommand(), file.toString());

        assertEquals(0, run.status(), run.err());
        assertArrayEquals(Files.readAllBytes(file), stored("jobs/cat-lora/job.toml"));
        assertTrue(run.out().contains("s3://" + JobTestStack.BUCKET + "/jobs/cat-lora/job.toml"), run.out());
        assertTrue(run.out().contains("./kiln watch cat-lora"), run.out());
    }

    @Test
    void jobNameIsTheFileStemOrTheJobOption() throws Exception {
        Path file = JobTestStack.write(dir.resolve("dog-lora.toml"), JOB);

        assertEquals(0, stack.execute(new SubmitCommand(), file.toString()).status());
        assertArrayEquals(Files.readAllBytes(file), stored("jobs/dog-lora/job.toml"));

        JobTestStack.Run named = stack.execute(new SubmitCommand(), file.toString(), "--job", "dog-lora-v2");
        assertEquals(0, named.status(), named.err());
        assertArrayEquals(Files.readAllBytes(file), stored("jobs/dog-lora-v2/job.toml"));
    }

    @Test
    void refusesAnUnknownKeyWithStatus2NamingItAndUploadsNothing() throws Exception {
        Path file = JobTestStack.write(dir.resolve("jobs/typo-job/job.toml"), JOB + "netwrok_alpha = 4\n");

        JobTestStack.Run run = stack.execute(new SubmitCommand(), file.toString());

        assertEquals(2, run.status());
        assertTrue(run.err().contains("netwrok_alpha"), run.err());
        assertTrue(run.err().contains(file.toString()), "names the file: " + run.err());
        assertNotStored("jobs/typo-job/job.toml");
    }

    @Test
    void refusesAWrongTypeAndBrokenTomlAndNonUtf8() throws Exception {
        Path wrongType = JobTestStack.write(dir.resolve("jobs/bad-type/job.toml"),
                JOB.replace("learning_rate = 1e-4", "learning_rate = \"fast\""));
        JobTestStack.Run run = stack.execute(new SubmitCommand(), wrongType.toString());
        assertEquals(2, run.status());
        assertTrue(run.err().contains("learning_rate"), run.err());
        assertNotStored("jobs/bad-type/job.toml");

        Path broken = JobTestStack.write(dir.resolve("jobs/bad-toml/job.toml"), "method = \"lora\n");
        run = stack.execute(new SubmitCommand(), broken.toString());
        assertEquals(2, run.status());
        assertTrue(run.err().contains("line 1"), run.err());
        assertNotStored("jobs/bad-toml/job.toml");

        Path latin1 = dir.resolve("jobs/latin1/job.toml");
        Files.createDirectories(latin1.getParent());
        Files.write(latin1, "# gr\u00fc\u00dfe\nmethod = \"lora\"\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        run = stack.execute(new SubmitCommand(), latin1.toString());
        assertEquals(2, run.status());
        assertTrue(run.err().contains("not UTF-8"), run.err());
        assertNotStored("jobs/latin1/job.toml");
    }

    @Test
    void refusesAJobNameThatIsNotOneSafeKeySegment() throws Exception {
        Path file = JobTestStack.write(dir.resolve("ok.toml"), JOB);
        for (String bad : new String[] {"../escape", "a/b", ".hidden"}) {
            JobTestStack.Run run = stack.execute(new SubmitCommand(), file.toString(), "--job", bad);
            assertEquals(2, run.status(), bad);
            assertTrue(run.err().contains("invalid job name"), run.err());
        }
        JobTestStack.Run missing = stack.execute(new SubmitCommand(), dir.resolve("absent.toml").toString());
        assertEquals(2, missing.status());
        assertTrue(missing.err().contains("absent.toml"), missing.err());
    }

    @Test
    void unreachableS3ExitsWith5NamingTheEndpoint() {
        Path file = JobTestStack.write(dir.resolve("jobs/nowhere/job.toml"), JOB);
        String endpoint = "http://127.0.0.1:" + ServerProcess.freePort();
        List<String> connection = List.of("--s3-endpoint", endpoint, "--bucket", JobTestStack.BUCKET,
                "--data-dir", stack.dataDir.toString());

        JobTestStack.Run run = stack.executeWith(new SubmitCommand(), connection, file.toString());

        assertEquals(5, run.status(), run.out() + run.err());
        assertTrue(run.err().contains(endpoint), run.err());
        assertFalse(run.err().contains(stack.s3.secretKey()), "never prints the secret: " + run.err());
    }

    @Test
    void withWatchFollowsOnlyTheNewRunUntilItCompletes() throws Exception {
        String job = "resubmitted-" + System.nanoTime();
        // the end of an earlier run under the same name: must not end this watch
        stack.publish(TrainingProgress.artifact(job, ProgressType.COMPLETED, Stage.TRAINING, 10,
                "s3://kiln/outputs/" + job + "/old.safetensors", Instant.now()));
        Path file = JobTestStack.write(dir.resolve("jobs/" + job + "/job.toml"), JOB);

        // stands in for ingestion and trainer: they react to the uploaded job.toml
        CompletableFuture<Void> services = CompletableFuture.runAsync(() -> {
            awaitObject("jobs/" + job + "/job.toml");
            stack.publish(TrainingProgress.of(job, ProgressType.SUBMITTED, Stage.INGESTION, Instant.now()));
            stack.publish(TrainingProgress.artifact(job, ProgressType.COMPLETED, Stage.TRAINING, 100,
                    "s3://kiln/outputs/" + job + "/new.safetensors", Instant.now()));
        });

        JobTestStack.Run run = stack.execute(new SubmitCommand(), file.toString(), "--watch", "--timeout", "60s");
        services.get(60, TimeUnit.SECONDS);

        assertEquals(0, run.status(), run.out() + run.err());
        assertTrue(run.out().contains("completed: s3://kiln/outputs/" + job + "/new.safetensors"), run.out());
        assertFalse(run.out().contains("old.safetensors"), run.out());
    }

    private static void awaitObject(String key) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            try {
                stack.s3Client.statObject(StatObjectArgs.builder().bucket(JobTestStack.BUCKET).object(key).build());
                return;
            } catch (Exception notYet) {
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
        throw new AssertionError(key + " was not uploaded within 30 s");
    }
}
