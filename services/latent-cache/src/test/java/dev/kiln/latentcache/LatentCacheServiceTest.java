package dev.kiln.latentcache;

import static dev.kiln.latentcache.LatentCacheFixture.valid;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.diffusion.safetensors.SafeTensors;
import dev.kiln.diffusion.train.latent.LatentCache;
import dev.kiln.latentcache.job.JobConsumer;
import dev.kiln.latentcache.task.TaskConsumer;
import dev.kiln.model.keys.ObjectKeys;
import dev.kiln.model.topics.Topics;
import dev.kiln.service.storage.ObjectInfo;
import dev.kiln.service.storage.S3Storage;
import dev.kiln.service.test.KafkaTestResource;
import dev.kiln.service.test.S3TestResource;
import dev.kiln.service.test.TopicWatcher;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kafka.InjectKafkaCompanion;
import io.smallrye.reactive.messaging.kafka.companion.KafkaCompanion;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The latent-cache service on real Kafka and S3 with the tiny SD 1.5 model: a planned job's latents land in
 * {@code cache/latents/} equal to what the engine's {@code LocalLatents} computes, with contract-valid tasks, progress
 * and {@code kiln.latents.cached}; a second job over the same images only hits; a corrupt image ends its job with one
 * {@code failed} event naming it; redelivered records change nothing; an owner stopped mid-job loses nothing.
 */
@QuarkusTest
@WithTestResource(value = KafkaTestResource.class, parallel = true)
@WithTestResource(value = S3TestResource.class, parallel = true)
class LatentCacheServiceTest {
    private static final Duration WAIT = Duration.ofMinutes(2);

    @InjectKafkaCompanion
    KafkaCompanion companion;

    @Inject
    S3Storage storage;

    @Inject
    JobConsumer jobs;

    @Inject
    TaskConsumer workers;

    LatentCacheFixture fixture;
    TopicWatcher progress;
    TopicWatcher cached;
    TopicWatcher tasks;

    @BeforeAll
    static void topics() {
        KafkaTestResource.createTopics(3, Topics.JOBS_PLANNED, Topics.LATENTS_CACHED, Topics.TRAINING_PROGRESS);
        KafkaTestResource.createTopics(6, Topics.LATENTS_TASKS);
    }

    @BeforeEach
    void setUp() {
        fixture = new LatentCacheFixture(storage, companion);
        progress = TopicWatcher.watch(companion, Topics.TRAINING_PROGRESS);
        cached = TopicWatcher.watch(companion, Topics.LATENTS_CACHED);
        tasks = TopicWatcher.watch(companion, Topics.LATENTS_TASKS);
    }

    @AfterEach
    void tearDown() {
        progress.close();
        cached.close();
        tasks.close();
    }

    private static Predicate<ConsumerRecord<String, String>> job(String job) {
        return r -> job.equals(r.key());
    }

    private static Predicate<ConsumerRecord<String, String>> of(String job, String type) {
        return r -> job.equals(r.key()) && r.value().contains("\"type\":\"" + type + "\"");
    }

    @Test
    void plannedJobIsCachedAsTheEngineCachesItAndASecondJobOnlyHits() throws IOException {
        String job = LatentCacheFixture.unique("cats");
        Path root = fixture.mirror(job, job, 3, 11, true);
        fixture.submit(root, job);

        JsonNode done = valid(cached.await(job(job), WAIT));
        assertEquals(job, done.path("jobId").asText());
        assertEquals(ObjectKeys.plan(job), done.path("planKey").asText());
        assertEquals(0, done.path("hits").asLong());
        assertEquals(6, done.path("misses").asLong(), "3 images, each plain and flipped (flip_aug)");

        // the objects are exactly the engine's local cache: same names under the same VAE hash, same values
        Path local = LatentCacheFixture.localLatents(root, job);
        String vaeSha = local.getFileName().toString();
        Map<String, ObjectInfo> objects = new TreeMap<>();
        for (ObjectInfo o : storage.list(ObjectKeys.LATENT_CACHE + vaeSha + "/", true)) {
            objects.put(o.key().substring(o.key().lastIndexOf('/') + 1), o);
        }
        List<Path> expected;
        try (Stream<Path> files = Files.list(local)) {
            expected = files.sorted().toList();
        }
        assertEquals(6, expected.size());
        for (Path file : expected) {
            String name = file.getFileName().toString();
            ObjectInfo object = objects.get(name);
            assertTrue(object != null, name + " missing from the bucket; there: " + objects.keySet());
            Path downloaded = Files.createTempFile(Path.of("target"), "latent", ".safetensors");
            storage.getToFile(object.key(), downloaded);
            try (SafeTensors ours = SafeTensors.open(downloaded); SafeTensors engine = SafeTensors.open(file)) {
                assertArrayEquals(engine.readFloats(LatentCache.TENSOR), ours.readFloats(LatentCache.TENSOR), 1e-6f,
                        name);
            } finally {
                Files.deleteIfExists(downloaded);
            }
        }

        // events: tasks keyed by image sha256, caching progress from 0 to 6, all contract-valid
        List<ConsumerRecord<String, String>> taskRecords = tasks.matching(r -> r.value().contains("\"" + job + "\""));
        assertEquals(3, taskRecords.size(), "one task per image");
        for (ConsumerRecord<String, String> r : taskRecords) {
            JsonNode task = valid(r);
            assertEquals(task.path("imageSha256").asText(), r.key());
            assertEquals(2, task.path("targets").size());
            assertEquals(vaeSha, task.path("vaeSha256").asText());
        }
        List<JsonNode> caching = new ArrayList<>();
        for (ConsumerRecord<String, String> r : progress.matching(job(job))) {
            JsonNode e = valid(r);
            assertEquals("caching", e.path("type").asText(), e.toString());
            assertEquals("caching", e.path("stage").asText());
            assertEquals(6, e.path("totalSteps").asLong());
            caching.add(e);
        }
        assertEquals(0, caching.get(0).path("step").asLong());
        assertEquals(6, caching.get(caching.size() - 1).path("step").asLong(), "the last event is complete");
        assertTrue(caching.get(caching.size() - 1).path("itPerSec").isNumber(), "images/s reported");

        // a second job over the same images: every latent is a hit, no task is published
        String second = LatentCacheFixture.unique("again");
        Path secondRoot = fixture.mirror(second, job, 3, 11, true);
        fixture.submit(secondRoot, second);
        JsonNode hits = valid(cached.await(job(second), WAIT));
        assertEquals(6, hits.path("hits").asLong());
        assertEquals(0, hits.path("misses").asLong());
        assertEquals(List.of(), tasks.matching(r -> r.value().contains("\"" + second + "\"")));
        java.util.Set<String> shas = new java.util.HashSet<>();
        expected.forEach(f -> shas.add(f.getFileName().toString().substring(0, 64)));
        assertEquals(6, storage.list(ObjectKeys.LATENT_CACHE + vaeSha + "/", true).stream()
                .filter(o -> shas.contains(o.key().substring(o.key().lastIndexOf('/') + 1, o.key().lastIndexOf('/') + 65)))
                .count(), "nothing encoded twice");
    }

    @Test
    void redeliveredPlansAndTasksChangeNothing() {
        String job = LatentCacheFixture.unique("redeliver");
        fixture.submit(fixture.mirror(job, job, 2, 23, false), job);
        valid(cached.await(job(job), WAIT));
        Map<String, String> before = latents();

        // the task records again, and the planned record again; a job queued behind it on the same partition
        // shows the redelivery was handled first
        tasks.matching(r -> r.value().contains("\"" + job + "\"")).forEach(fixture::again);
        fixture.planned(job, job);
        String next = LatentCacheFixture.unique("next");
        fixture.upload(fixture.mirror(next, next, 1, 29, false), next);
        fixture.planned(next, job); // under job's key: behind the redelivery on the same partition
        cached.awaitCount(job(next), 1, WAIT);
        waitForIdle();

        assertEquals(1, cached.matching(job(job)).size(), "kiln.latents.cached once per job");
        Map<String, String> after = latents();
        before.forEach((key, stamp) -> assertEquals(stamp, after.get(key), key + " written again"));
    }

    @Test
    void corruptImageEndsTheJobWithOneFailedEventNamingIt() {
        String job = LatentCacheFixture.unique("corrupt");
        fixture.upload(fixture.mirror(job, job, 2, 31, false), job);
        // the planned PNG replaced by bytes that start like a PNG and then break off
        String broken = "datasets/" + job + "/5_s c/img00.png";
        byte[] bytes = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R', 1, 2};
        storage.put(broken, new java.io.ByteArrayInputStream(bytes), bytes.length, "image/png");
        fixture.planned(job, job);

        JsonNode failed = valid(progress.await(of(job, "failed"), WAIT));
        assertEquals("caching", failed.path("stage").asText());
        assertTrue(failed.path("message").asText().contains(broken), failed.toString());

        fixture.planned(job, job); // delivered again: already reported
        String next = LatentCacheFixture.unique("after");
        fixture.upload(fixture.mirror(next, next, 1, 37, false), next);
        fixture.planned(next, job);
        cached.awaitCount(job(next), 1, WAIT);
        waitForIdle();
        assertEquals(1, progress.matching(of(job, "failed")).size(), "exactly one failed event");
        assertEquals(List.of(), cached.matching(job(job)), "no kiln.latents.cached for a failed job");
    }

    @Test
    void anOwnerStoppedMidJobLosesNothing() throws InterruptedException {
        workers.stop(); // no encoding yet: the owner waits
        try {
            String job = LatentCacheFixture.unique("restart");
            int before = latents().size();
            fixture.submit(fixture.mirror(job, job, 2, 41, true), job);
            progress.await(of(job, "caching"), WAIT);
            jobs.stop(); // as at a shutdown: the planned record stays uncommitted

            // the workers encode everything while no owner runs; the next owner must still count them as misses
            workers.start();
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (latents().size() < before + 4 && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertEquals(before + 4, latents().size(), "the tasks of the stopped owner were encoded");
            jobs.start();
            JsonNode done = valid(cached.await(job(job), WAIT));
            assertEquals(0, done.path("hits").asLong(), "the counts of the first owner are kept");
            assertEquals(4, done.path("misses").asLong());
            waitForIdle();
            assertEquals(1, cached.matching(job(job)).size());
            assertEquals(2, tasks.matching(r -> r.value().contains("\"" + job + "\"")).size(),
                    "nothing was missing for the second owner: no task published again");
        } finally {
            workers.start();
            jobs.start();
        }
    }

    /** Object key -> last-modified time of every cached latent. */
    private Map<String, String> latents() {
        Map<String, String> out = new TreeMap<>();
        for (ObjectInfo o : storage.list(ObjectKeys.LATENT_CACHE, true)) {
            out.put(o.key(), o.eTag() + "@" + o.lastModified());
        }
        return out;
    }

    private static void waitForIdle() {
        try {
            Thread.sleep(1500);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
