package dev.kiln.trainer;

import static dev.kiln.trainer.TrainerFixture.valid;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.model.events.EventSchemas;
import dev.kiln.model.json.Json;
import dev.kiln.model.keys.ObjectKeys;
import dev.kiln.model.topics.Topics;
import dev.kiln.service.storage.ObjectInfo;
import dev.kiln.service.storage.S3Storage;
import dev.kiln.service.test.KafkaTestResource;
import dev.kiln.service.test.S3TestResource;
import dev.kiln.service.test.TopicWatcher;
import dev.kiln.trainer.job.JobConsumer;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kafka.InjectKafkaCompanion;
import io.smallrye.reactive.messaging.kafka.companion.KafkaCompanion;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The trainer service on real Kafka and S3 with the tiny SD 1.5 model: a job runs to completion with a contract-valid
 * event sequence and its LoRA, checkpoints and latents in the bucket; a completed job is not trained again; cancel
 * stops within a step; a trainer stopped mid-job leaves a state that the next consumer resumes, and the job
 * completes once.
 */
@QuarkusTest
@WithTestResource(value = KafkaTestResource.class, parallel = true)
@WithTestResource(value = S3TestResource.class, parallel = true)
class TrainerServiceTest {
    private static final Duration WAIT = Duration.ofMinutes(3);

    @InjectKafkaCompanion
    KafkaCompanion companion;

    @Inject
    S3Storage storage;

    @Inject
    JobConsumer consumer;

    TrainerFixture fixture;
    TopicWatcher progress;
    TopicWatcher sampleRequests;

    @BeforeAll
    static void topics() {
        KafkaTestResource.createTopics(3, Topics.LATENTS_CACHED, Topics.TRAINING_CONTROL, Topics.TRAINING_PROGRESS,
                Topics.SAMPLES_REQUESTED);
    }

    @BeforeEach
    void setUp() {
        fixture = new TrainerFixture(storage, companion);
        progress = TopicWatcher.watch(companion, Topics.TRAINING_PROGRESS);
        sampleRequests = TopicWatcher.watch(companion, Topics.SAMPLES_REQUESTED);
    }

    @AfterEach
    void tearDown() {
        progress.close();
        sampleRequests.close();
    }

    private static Predicate<ConsumerRecord<String, String>> of(String job, String type) {
        return r -> job.equals(r.key()) && r.value().contains("\"type\":\"" + type + "\"");
    }

    private static Predicate<ConsumerRecord<String, String>> terminal(String job) {
        return of(job, "completed").or(of(job, "cancelled")).or(of(job, "failed"));
    }

    private List<JsonNode> events(String job) {
        List<JsonNode> out = new ArrayList<>();
        for (ConsumerRecord<String, String> r : progress.matching(r -> job.equals(r.key()))) {
            out.add(valid(r));
        }
        return out;
    }

    @Test
    void jobRunsToCompletionWithContractEventsAndOutputs() throws Exception {
        String job = TrainerFixture.unique("done");
        String images = fixture.images(job, 4);
        fixture.job(job, images, "max_train_steps = 6\nsave_every_n_steps = 3\nsample_every_n_steps = 3\n"
                + "sample_prompts = [\"s c --w 64 --h 64 --s 2 --d 1\", \"r d --n s\"]\n");
        fixture.latentsCached(job);

        JsonNode completed = valid(progress.await(terminal(job), WAIT));
        assertEquals("completed", completed.path("type").asText(), completed.toString());
        String finalKey = ObjectKeys.outputPrefix(job) + job + ".safetensors";
        assertEquals(ObjectKeys.s3Uri(storage.bucket(), finalKey), completed.path("artifact").asText());
        assertTrue(storage.exists(finalKey), finalKey);
        assertTrue(storage.exists(ObjectKeys.outputPrefix(job) + job + "-step00000003.safetensors"));

        List<JsonNode> events = events(job);
        assertEquals("started", events.get(0).path("type").asText());
        assertEquals(0, events.get(0).path("step").asLong());
        assertEquals(6, events.get(0).path("totalSteps").asLong());
        List<Long> steps = new ArrayList<>();
        int checkpoints = 0;
        int terminals = 0;
        for (JsonNode e : events) {
            switch (e.path("type").asText()) {
                case "step" -> {
                    steps.add(e.path("step").asLong());
                    assertEquals(6, e.path("totalSteps").asLong());
                    for (String field : List.of("epoch", "loss", "avgLoss", "lr", "itPerSec", "etaSeconds")) {
                        assertTrue(e.path(field).isNumber(), field + " in " + e);
                    }
                }
                case "checkpoint" -> {
                    checkpoints++;
                    assertTrue(e.path("artifact").asText().startsWith("s3://" + storage.bucket() + "/outputs/" + job
                            + "/"), e.toString());
                }
                case "completed", "cancelled", "failed" -> terminals++;
                default -> { }
            }
        }
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L), steps, "every step (interval 0 in tests), in order");
        assertEquals(3, checkpoints, "steps 3 and 6 (save_every_n_steps) and the final model");
        assertEquals(1, terminals);
        assertEquals("completed", events.get(events.size() - 1).path("type").asText(), "the terminal event is last");

        // sample points went to the sampler as requests naming the network trained so far (rendered elsewhere)
        List<ConsumerRecord<String, String>> requests = sampleRequests.awaitCount(r -> job.equals(r.key()), 2, WAIT);
        List<Long> sampledAt = new ArrayList<>();
        for (ConsumerRecord<String, String> r : requests) {
            JsonNode body = Json.tree(Json.read(r.value(), JsonNode.class));
            assertEquals(List.of(), EventSchemas.validateRecord(Topics.SAMPLES_REQUESTED, TopicWatcher.headers(r), body),
                    r.value());
            long step = body.path("step").asLong();
            sampledAt.add(step);
            assertEquals(ObjectKeys.sampleNetwork(job, step), body.path("checkpointKey").asText());
            assertEquals("[\"s c --w 64 --h 64 --d 1 --s 2 --l 7.5\",\"r d --n s --w 512 --h 512 --s 30 --l 7.5\"]",
                    body.path("prompts").toString());
            java.nio.file.Path file = java.nio.file.Files.createTempFile("sample-network", ".safetensors");
            storage.getToFile(body.path("checkpointKey").asText(), file);
            try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager()) {
                assertFalse(dev.kiln.diffusion.lora.LoraNetwork.load(file, m).modules().isEmpty(), "a kohya LoRA");
            } finally {
                java.nio.file.Files.delete(file);
            }
        }
        assertEquals(List.of(3L, 6L), sampledAt);
        assertTrue(storage.list(ObjectKeys.outputPrefix(job) + "samples/", true).isEmpty(), "not rendered in the trainer");

        // the latents computed for this job went to the shared cache: 4 images, no flip
        List<ObjectInfo> latents = storage.list(ObjectKeys.LATENT_CACHE, true);
        assertEquals(4, latents.stream().filter(o -> o.key().endsWith(".safetensors")).count(), latents.toString());

        // announced again (a redelivery, a second latent-cache run): the ended job is not trained twice;
        // a job queued behind it on the same partition shows the redelivery was handled first
        fixture.latentsCached(job);
        String next = TrainerFixture.unique("next");
        fixture.job(next, images, "max_train_steps = 1\n");
        fixture.latentsCachedKeyed(next, job);
        progress.await(terminal(next), WAIT);
        assertEquals(1, progress.matching(of(job, "started")).size(), "trained once");
        Map<String, String> etags = new TreeMap<>();
        for (ObjectInfo o : storage.list(ObjectKeys.LATENT_CACHE, true)) {
            etags.put(o.key(), o.eTag());
        }
        assertEquals(4, etags.size(), "the second job over the same images reused the cached latents");
        // the base model was downloaded once into the trainer's model cache and reused by the second job
        try (java.util.stream.Stream<java.nio.file.Path> models = java.nio.file.Files.list(
                java.nio.file.Path.of("target/trainer-work/models"))) {
            assertEquals(1, models.count(), "one cached model version");
        }
    }

    @Test
    void dreamboothFinetuneAndTextualInversionTrainThroughTheServiceToLoadableOutputs() throws Exception {
        String images = fixture.images(TrainerFixture.unique("methods"), 4);
        String db = TrainerFixture.unique("db");
        fixture.methodJob(db, "dreambooth", images, "max_train_steps = 3\n"
                + "save_model_as = \"diffusers\"\n", TrainerFixture.CLASS_TOKENS);
        String ft = TrainerFixture.unique("ft");
        String meta = images + "meta.json";
        fixture.put(meta, "{\"img00.png\": {\"caption\": \"s c\"}, \"img01.jpg\": {\"tags\": \"r, d\"},"
                + " \"img02.png\": {\"caption\": \"c\"}, \"img03.jpg\": {\"caption\": \"r\"}}");
        fixture.methodJob(ft, "finetune", images, "max_train_steps = 3\n",
                "  metadata_file = \"" + meta + "\"\n  num_repeats = 2\n");
        String ti = TrainerFixture.unique("ti");
        fixture.methodJob(ti, "textual_inversion", images, "max_train_steps = 3\ntoken_string = \"zq\"\n"
                + "num_vectors_per_token = 2\ninit_word = \"s\"\nsample_every_n_steps = 3\n"
                + "sample_prompts = [\"zq --w 64 --h 64 --s 2 --d 1\"]\n", TrainerFixture.CLASS_TOKENS);
        for (String job : List.of(db, ft, ti)) {
            fixture.latentsCached(job);
        }
        java.nio.file.Path scratch = java.nio.file.Files.createTempDirectory("methods");
        try (ai.djl.ndarray.NDManager manager = ai.djl.ndarray.NDManager.newBaseManager()) {
            for (String job : List.of(db, ft)) {
                JsonNode completed = valid(progress.await(terminal(job), WAIT));
                assertEquals("completed", completed.path("type").asText(), completed.toString());
                // save_model_as = "diffusers" (dreambooth) is a folder; finetune's default is one original-layout file
                String key = completed.path("artifact").asText().substring(("s3://" + storage.bucket() + "/").length());
                java.nio.file.Path local = scratch.resolve(job);
                for (ObjectInfo o : storage.list(key, true)) {
                    storage.getToFile(o.key(), local.resolve(o.key().substring(ObjectKeys.outputPrefix(job).length())));
                }
                java.nio.file.Path model = local.resolve(key.substring(ObjectKeys.outputPrefix(job).length()));
                assertEquals(job.equals(db), key.endsWith("/"), key);
                assertFalse(dev.kiln.diffusion.model.StableDiffusionLoader.load(model, manager).unetWeights().isEmpty());
            }
            JsonNode completed = valid(progress.await(terminal(ti), WAIT));
            assertEquals("completed", completed.path("type").asText(), completed.toString());
            java.nio.file.Path embedding = scratch.resolve("zq.safetensors");
            storage.getToFile(ObjectKeys.outputPrefix(ti) + ti + ".safetensors", embedding);
            assertEquals(2, dev.kiln.diffusion.embedding.Embedding.load(embedding, manager).vectors().getShape().get(0));
            // methods that train the model itself render their samples in the trainer and upload them
            assertTrue(progress.matching(of(ti, "sample")).size() == 1, progress.matching(r -> ti.equals(r.key())).toString());
            assertFalse(storage.list(ObjectKeys.outputPrefix(ti) + "samples/", true).isEmpty());
        }
    }

    @Test
    void cancelEndsTheJobWithinAStep() {
        String job = TrainerFixture.unique("cancel");
        fixture.job(job, fixture.images(job, 4), "max_train_steps = 500\n");
        fixture.latentsCached(job);
        JsonNode step = valid(progress.await(of(job, "step").and(r -> r.value().contains("\"step\":2,")), WAIT));
        assertEquals(2, step.path("step").asLong());
        fixture.control(job, "cancel");

        JsonNode end = valid(progress.await(terminal(job), WAIT));
        assertEquals("cancelled", end.path("type").asText(), end.toString());
        List<JsonNode> events = events(job);
        assertEquals(end, events.get(events.size() - 1), "nothing after the terminal event");
        long lastStep = events.stream().filter(e -> e.path("type").asText().equals("step"))
                .mapToLong(e -> e.path("step").asLong()).max().orElseThrow();
        assertEquals(lastStep, end.path("step").asLong(), "cancelled at the last step reported");
        assertTrue(lastStep < 500, "stopped early");
        assertFalse(storage.exists(ObjectKeys.outputPrefix(job) + job + ".safetensors"), "no final model");
    }

    @Test
    void stoppedTrainerLeavesAStateThatTheNextOneResumesAndTheJobCompletesOnce() {
        String job = TrainerFixture.unique("resume");
        fixture.job(job, fixture.images(job, 4), "max_train_steps = 6\n");
        fixture.latentsCached(job);
        progress.await(of(job, "step").and(r -> r.value().contains("\"step\":3,")), WAIT);

        consumer.stop(); // as at a shutdown: the running step ends, a state is saved, the record stays uncommitted
        String latest = ObjectKeys.statePrefix(job) + "latest";
        assertTrue(storage.exists(latest), latest);
        String newest;
        try (var in = storage.get(latest)) {
            newest = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        List<ObjectInfo> states = storage.list(ObjectKeys.statePrefix(job) + "step-", true);
        assertEquals(3, states.size(), "one complete state folder; the periodic one before it was removed: " + states);
        for (ObjectInfo file : states) {
            assertTrue(file.key().startsWith(ObjectKeys.statePrefix(job) + newest + "/"), file.key());
        }
        assertTrue(progress.matching(terminal(job)).isEmpty(), "a stop is not an end");
        long stoppedAt = progress.matching(of(job, "step")).stream().map(TrainerFixture::valid)
                .mapToLong(e -> e.path("step").asLong()).max().orElseThrow();

        consumer.start(); // a new consumer of the group gets the uncommitted record again
        JsonNode completed = valid(progress.await(terminal(job), WAIT));
        assertEquals("completed", completed.path("type").asText(), completed.toString());
        assertEquals(6, completed.path("step").asLong());

        List<JsonNode> started = progress.matching(of(job, "started")).stream().map(TrainerFixture::valid).toList();
        assertEquals(2, started.size());
        assertEquals(stoppedAt, started.get(1).path("step").asLong(), "resumed where it stopped");
        List<Long> steps = progress.matching(of(job, "step")).stream().map(TrainerFixture::valid)
                .map(e -> e.path("step").asLong()).toList();
        List<Long> expected = new ArrayList<>();
        for (long s = 1; s <= 6; s++) {
            expected.add(s);
        }
        assertEquals(expected, steps, "every step once across the two trainers");
        assertEquals(1, progress.matching(terminal(job)).size(), "exactly one terminal event");
        assertNotNull(storage.stat(ObjectKeys.outputPrefix(job) + job + ".safetensors"));
        assertTrue(storage.exists(ObjectKeys.stateKey(job, "ended.json")));
    }
}
