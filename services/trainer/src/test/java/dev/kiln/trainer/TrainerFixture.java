package dev.kiln.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.diffusion.bench.LetterTokenizer;
import dev.kiln.diffusion.bench.SyntheticImages;
import dev.kiln.model.events.EventSchemas;
import dev.kiln.model.events.LatentsCached;
import dev.kiln.model.json.Json;
import dev.kiln.model.keys.ObjectKeys;
import dev.kiln.model.topics.Topics;
import dev.kiln.service.storage.S3Storage;
import dev.kiln.service.test.TopicWatcher;
import io.smallrye.reactive.messaging.kafka.companion.KafkaCompanion;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;

/**
 * Puts a training job into the bucket as a user would: the tiny golden SD 1.5 diffusers folder (with the letter
 * tokenizer its 1000-id text encoder needs) under {@code models/}, drawn PNG/JPEG images with sidecar captions in a
 * kohya folder, and {@code jobs/<job>/job.toml}; then announces it on {@code kiln.latents.cached} as the latent-cache
 * service does.
 */
final class TrainerFixture {

    private final S3Storage storage;
    private final KafkaCompanion companion;
    private final Path scratch;

    TrainerFixture(S3Storage storage, KafkaCompanion companion) {
        this.storage = storage;
        this.companion = companion;
        try {
            this.scratch = Files.createDirectories(Path.of("target", "trainer-fixture"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String unique(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** Uploads the tiny model once per bucket; returns its key prefix. */
    String model() {
        String prefix = "models/tiny-sd15/";
        if (!storage.list(prefix, true).isEmpty()) {
            return prefix;
        }
        Path tiny = Path.of(System.getProperty("golden.root", "../../../shared/golden"), "tiny-sd15", "diffusers");
        uploadTree(tiny, prefix);
        Path tokenizer = LetterTokenizer.write(scratch.resolve(unique("tokenizer")));
        uploadTree(tokenizer, prefix + "tokenizer/");
        return prefix;
    }

    /** Uploads {@code count} images with captions into {@code datasets/<dataset>/5_s c/}; returns that folder. */
    String images(String dataset, int count) {
        Path local = scratch.resolve(unique("images"));
        SyntheticImages.write(local, count, 64, "s c, r d", 3);
        String folder = "datasets/" + dataset + "/5_s c/";
        uploadTree(local, folder);
        return folder;
    }

    /** A DreamBooth-style subset's lines: class tokens and repeats. */
    static final String CLASS_TOKENS = "  class_tokens = \"s c\"\n  num_repeats = 5\n";

    /** Uploads a LoRA job over {@code imageDir} at 64² (batch 2) with {@code extra} training arguments. */
    void job(String job, String imageDir, String extra) {
        methodJob(job, "lora", imageDir, "network_dim = 4\nnetwork_alpha = 2\n" + extra, CLASS_TOKENS);
    }

    /**
     * Uploads a job of {@code method} over {@code imageDir} at 64² (batch 2) with {@code extra} training arguments and
     * {@code subsetLines} after the subset's {@code image_dir}.
     */
    void methodJob(String job, String method, String imageDir, String extra, String subsetLines) {
        String toml = "method = \"" + method + "\"\n"
                + "pretrained_model_name_or_path = \"" + model().replaceAll("/$", "") + "\"\n"
                + "learning_rate = 0.005\nseed = 7\n"
                + "caption_extension = \".txt\"\noutput_name = \"" + job + "\"\n"
                + extra
                + "\n[[datasets]]\nresolution = 64\nbatch_size = 2\n"
                + "  [[datasets.subsets]]\n  image_dir = \"" + imageDir.replaceAll("/$", "") + "\"\n"
                + subsetLines;
        put(ObjectKeys.jobSpec(job), toml);
    }

    /** Uploads a small UTF-8 object. */
    void put(String key, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        storage.put(key, new ByteArrayInputStream(bytes), bytes.length, "application/octet-stream");
    }

    /** Publishes {@code kiln.latents.cached} for {@code job} with binary CloudEvent headers. */
    void latentsCached(String job) {
        latentsCachedKeyed(job, job);
    }

    /** As {@link #latentsCached} with another Kafka key (to queue it on that key's partition). */
    void latentsCachedKeyed(String job, String key) {
        String body = Json.write(new LatentsCached(job, ObjectKeys.plan(job), 0, 0));
        ProducerRecord<String, String> record = new ProducerRecord<>(Topics.LATENTS_CACHED, key, body);
        header(record, "ce_specversion", "1.0");
        header(record, "ce_id", UUID.randomUUID().toString());
        header(record, "ce_type", Topics.ceTypeOf(Topics.LATENTS_CACHED));
        header(record, "ce_source", "/kiln/latent-cache");
        header(record, "ce_time", java.time.Instant.now().toString());
        header(record, "ce_subject", job);
        companion.produceStrings().fromRecords(record).awaitCompletion();
    }

    /** Publishes a {@code kiln.training.control} command. */
    void control(String job, String command) {
        String body = "{\"jobId\":\"" + job + "\",\"command\":\"" + command + "\"}";
        companion.produceStrings().fromRecords(new ProducerRecord<>(Topics.TRAINING_CONTROL, job, body))
                .awaitCompletion();
    }

    /** The body of a progress record after checking headers and body against the contract. */
    static JsonNode valid(ConsumerRecord<String, String> record) {
        JsonNode body = Json.tree(Json.read(record.value(), JsonNode.class));
        assertEquals(List.of(), EventSchemas.validateRecord(Topics.TRAINING_PROGRESS, TopicWatcher.headers(record),
                body), record.value());
        assertEquals(body.path("jobId").asText(), record.key(), "Kafka key = job id");
        return body;
    }

    private static void header(ProducerRecord<String, String> record, String name, String value) {
        record.headers().add(new RecordHeader(name, value.getBytes(StandardCharsets.UTF_8)));
    }

    private void uploadTree(Path dir, String prefix) {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path file : walk.filter(Files::isRegularFile).toList()) {
                storage.putFile(prefix + dir.relativize(file).toString().replace('\\', '/'), file, null);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
