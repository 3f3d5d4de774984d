package dev.kiln.cli.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.infra.process.ServerProcess;
import dev.kiln.model.events.CloudEventAttributes;
import dev.kiln.model.events.ProgressType;
import dev.kiln.model.events.Stage;
import dev.kiln.model.events.TrainingProgress;
import dev.kiln.model.topics.CloudEventSources;
import dev.kiln.model.topics.Topics;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code kiln watch} reading real progress events from a real Kafka broker: the job's own events among other
 * jobs' events and malformed records, ending with the right exit status for each terminal type.
 */
class WatchCommandTest {
    private static JobTestStack stack;

    @BeforeAll
    static void startStack() throws Exception {
        stack = JobTestStack.get();
    }

    private static String newJob(String prefix) {
        return prefix + "-" + System.nanoTime();
    }

    private static TrainingProgress step(String job, long step, double loss, double eta) {
        return new TrainingProgress(job, ProgressType.STEP, Stage.TRAINING, step, 1000L, 2, 10, loss, 0.1301, 1e-4,
                1.7, eta, null, null, Instant.now());
    }

    private static String uri(String job, String name) {
        return "s3://kiln/outputs/" + job + "/" + name;
    }

    /** A whole job's life, with another job's events interleaved. */
    private static void publishRun(String job, String other) {
        stack.publish(TrainingProgress.of(job, ProgressType.SUBMITTED, Stage.INGESTION, Instant.now()));
        stack.publish(TrainingProgress.of(other, ProgressType.SUBMITTED, Stage.INGESTION, Instant.now()));
        stack.publish(new TrainingProgress(job, ProgressType.PLANNED, Stage.PLANNING, null, 1000L, null, 10, null,
                null, null, null, null, null, null, Instant.now()));
        stack.publish(new TrainingProgress(job, ProgressType.CACHING, Stage.CACHING, 40L, 80L, null, null, null,
                null, null, null, null, null, null, Instant.now()));
        stack.publish(TrainingProgress.of(job, ProgressType.STARTED, Stage.TRAINING, Instant.now()));
        stack.publish(step(job, 100, 0.2, 600));
        stack.publish(step(other, 5, 0.9, 99_999));
        stack.publish(step(job, 120, 0.1234, 517.6));
        stack.publish(TrainingProgress.artifact(job, ProgressType.SAMPLE, Stage.SAMPLING, 120,
                uri(job, "samples/cat_s000120_00.png"), Instant.now()));
        stack.publish(TrainingProgress.artifact(other, ProgressType.CHECKPOINT, Stage.TRAINING, 5,
                uri(other, "other-step00000005.safetensors"), Instant.now()));
        stack.publish(TrainingProgress.artifact(job, ProgressType.CHECKPOINT, Stage.TRAINING, 500,
                uri(job, "cat-step00000500.safetensors"), Instant.now()));
    }

    private static Map<String, String> progressHeaders(String job) {
        return new CloudEventAttributes(UUID.randomUUID().toString(), Topics.ceTypeOf(Topics.TRAINING_PROGRESS),
                CloudEventSources.TRAINER, job, Instant.now(), CloudEventAttributes.JSON).binaryHeaders();
    }

    @Test
    void completedJobExits0ShowingEveryStageTheTrainingLineWithEtaAndTheArtifacts() {
        String job = newJob("cat");
        String other = newJob("dog");
        publishRun(job, other);
        // a broken body and a record without CloudEvent headers: warned about, never fatal
        stack.publishRaw(job, "{not json".getBytes(StandardCharsets.UTF_8), progressHeaders(job));
        stack.publishRaw(job, "{}".getBytes(StandardCharsets.UTF_8), Map.of());
        stack.publish(TrainingProgress.artifact(job, ProgressType.COMPLETED, Stage.TRAINING, 1000,
                uri(job, "cat.safetensors"), Instant.now()));
        stack.publish(TrainingProgress.failed(other, Stage.TRAINING, "other job broke", Instant.now()));

        JobTestStack.Run run = stack.execute(new WatchCommand(), job, "--timeout", "60s");

        assertEquals(0, run.status(), run.out() + run.err());
        String out = run.out();
        assertTrue(out.contains("[ingest]") && out.contains("submitted"), out);
        assertTrue(out.contains("[plan]") && out.contains("1000 steps"), out);
        assertTrue(out.contains("[caching]") && out.contains("40/80"), out);
        // 120 of 1000 steps: 12 %, 2 of 24 bar cells; 517.6 s is 8 min 38 s
        String training = out.lines().filter(l -> l.contains("120/1000")).findFirst().orElseThrow(() ->
                new AssertionError("no training line for step 120: " + out));
        assertTrue(training.startsWith("[training]"), training);
        assertTrue(training.contains("[##----------------------]"), training);
        assertTrue(training.contains(" 12%"), training);
        assertTrue(training.contains("epoch 2/10"), training);
        assertTrue(training.contains("loss 0.1234"), training);
        assertTrue(training.contains("avg 0.1301"), training);
        assertTrue(training.contains("lr 1.00e-04"), training);
        assertTrue(training.contains("1.70 it/s"), training);
        assertTrue(training.contains("ETA 0:08:38"), training);
        assertTrue(out.contains("sample at step 120: " + uri(job, "samples/cat_s000120_00.png")), out);
        assertTrue(out.contains("checkpoint at step 500: " + uri(job, "cat-step00000500.safetensors")), out);
        assertTrue(out.contains("completed: " + uri(job, "cat.safetensors")), out);
        // not a terminal: plain lines, no carriage returns
        assertFalse(out.contains("\r"), out);

        assertFalse(out.contains(other), "another job's events leak into the watch: " + out);
        assertEquals(2, run.err().lines().filter(l -> l.startsWith("warning: ignoring malformed record")).count(),
                run.err());
        assertTrue(run.err().contains("ce_type"), "names the missing header: " + run.err());
    }

    @Test
    void failedJobExits1WithTheMessage() {
        String job = newJob("failing");
        stack.publish(TrainingProgress.of(job, ProgressType.SUBMITTED, Stage.INGESTION, Instant.now()));
        stack.publish(TrainingProgress.failed(job, Stage.INGESTION, "[datasets[0]] resolution: expected an integer",
                Instant.now()));

        JobTestStack.Run run = stack.execute(new WatchCommand(), job, "--timeout", "60s");

        assertEquals(1, run.status(), run.out() + run.err());
        assertTrue(run.err().contains("failed in ingestion: [datasets[0]] resolution: expected an integer"), run.err());
    }

    @Test
    void cancelledJobExits3() {
        String job = newJob("cancelled");
        stack.publish(TrainingProgress.of(job, ProgressType.STARTED, Stage.TRAINING, Instant.now()));
        stack.publish(step(job, 10, 0.3, 100));
        stack.publish(TrainingProgress.of(job, ProgressType.CANCELLED, Stage.TRAINING, Instant.now()));

        JobTestStack.Run run = stack.execute(new WatchCommand(), job, "--from-beginning", "--timeout", "60s");

        assertEquals(3, run.status(), run.out() + run.err());
        assertTrue(run.out().contains("cancelled"), run.out());
    }

    @Test
    void jobWithoutTerminalEventTimesOutWithStatus4() {
        String job = newJob("endless");
        stack.publish(step(job, 1, 0.5, 10));

        long start = System.nanoTime();
        JobTestStack.Run run = stack.execute(new WatchCommand(), job, "--timeout", "2s");
        long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);

        assertEquals(4, run.status(), run.out() + run.err());
        assertTrue(run.out().contains("1/1000"), "history still shown: " + run.out());
        assertTrue(run.err().contains("did not end within 0:00:02"), run.err());
        assertTrue(seconds < 30, "took " + seconds + " s");
    }

    @Test
    void noFromBeginningIgnoresEventsThatWerePublishedBefore() {
        String job = newJob("old-news");
        stack.publish(TrainingProgress.artifact(job, ProgressType.COMPLETED, Stage.TRAINING, 1,
                uri(job, "old.safetensors"), Instant.now()));

        JobTestStack.Run run = stack.execute(new WatchCommand(), job, "--no-from-beginning", "--timeout", "2s");

        assertEquals(4, run.status(), run.out() + run.err());
        assertFalse(run.out().contains("old.safetensors"), run.out());
    }

    @Test
    void aResubmittedJobIsFollowedPastTheEndOfItsEarlierRun() throws Exception {
        String job = newJob("again");
        stack.publish(TrainingProgress.of(job, ProgressType.SUBMITTED, Stage.INGESTION, Instant.now()));
        stack.publish(TrainingProgress.failed(job, Stage.PLANNING, "first try failed", Instant.now()));
        stack.publish(TrainingProgress.of(job, ProgressType.SUBMITTED, Stage.INGESTION, Instant.now()));

        // the second run ends only after the watch has caught up with the history
        CompletableFuture<Void> trainer = CompletableFuture.runAsync(() -> {
            sleep(3000);
            stack.publish(TrainingProgress.artifact(job, ProgressType.COMPLETED, Stage.TRAINING, 10,
                    uri(job, "second.safetensors"), Instant.now()));
        });
        JobTestStack.Run run = stack.execute(new WatchCommand(), job, "--timeout", "60s");
        trainer.get(60, TimeUnit.SECONDS);

        assertEquals(0, run.status(), run.out() + run.err());
        assertTrue(run.out().contains("failed: first try failed"), "history shown: " + run.out());
        assertTrue(run.out().contains("completed: " + uri(job, "second.safetensors")), run.out());
    }

    @Test
    void finishedJobInHistoryEndsTheWatchAtOnce() {
        String job = newJob("done");
        stack.publish(TrainingProgress.of(job, ProgressType.SUBMITTED, Stage.INGESTION, Instant.now()));
        stack.publish(TrainingProgress.artifact(job, ProgressType.COMPLETED, Stage.TRAINING, 10,
                uri(job, "final.safetensors"), Instant.now()));
        // late events after the end (a sampler finishing last) do not make it a new run
        stack.publish(TrainingProgress.artifact(job, ProgressType.SAMPLE, Stage.SAMPLING, 10,
                uri(job, "samples/late.png"), Instant.now()));

        JobTestStack.Run run = stack.execute(new WatchCommand(), job, "--timeout", "60s");

        assertEquals(0, run.status(), run.out() + run.err());
        assertTrue(run.out().contains("completed: " + uri(job, "final.safetensors")), run.out());
    }

    @Test
    void invalidJobNameExits2AndUnreachableKafkaExits5() {
        JobTestStack.Run bad = stack.execute(new WatchCommand(), "../etc", "--timeout", "2s");
        assertEquals(2, bad.status());
        assertTrue(bad.err().contains("invalid job name"), bad.err());

        String nowhere = "127.0.0.1:" + ServerProcess.freePort();
        JobTestStack.Run down = stack.executeWith(new WatchCommand(), List.of("--kafka", nowhere), "some-job",
                "--timeout", "2s");
        assertEquals(5, down.status(), down.out() + down.err());
        assertTrue(down.err().contains(nowhere), down.err());
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
