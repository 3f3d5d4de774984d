package dev.kiln.latentcache;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.diffusion.bench.LetterTokenizer;
import dev.kiln.diffusion.bench.SyntheticImages;
import dev.kiln.diffusion.dataset.LocalDatasetSource;
import dev.kiln.diffusion.model.StableDiffusionLoader;
import dev.kiln.diffusion.model.StableDiffusionModel;
import dev.kiln.diffusion.train.latent.LatentCache;
import dev.kiln.diffusion.train.latent.LatentEncoder;
import dev.kiln.diffusion.train.latent.LocalLatents;
import dev.kiln.diffusion.train.latent.WeightsFingerprint;
import dev.kiln.model.dataset.DatasetPlan;
import dev.kiln.model.dataset.PlanJson;
import dev.kiln.model.events.EventSchemas;
import dev.kiln.model.events.JobPlanned;
import dev.kiln.model.job.JobSpec;
import dev.kiln.model.job.JobSpecParser;
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
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;

/**
 * A planned job as ingestion leaves it: the tiny golden SD 1.5 diffusers folder under {@code models/}, drawn images
 * in a kohya folder, {@code jobs/<job>/job.toml}, and {@code outputs/<job>/plan.json} written by the dataset engine
 * from the same files in a local mirror (object key = path below the mirror's root); then {@code kiln.jobs.planned}.
 * The mirror also gives the latents {@link LocalLatents} computes, to compare the service's objects with.
 */
final class LatentCacheFixture {
    static final String MODEL = "models/tiny-sd15";

    private final S3Storage storage;
    private final KafkaCompanion companion;
    private final Path scratch;

    LatentCacheFixture(S3Storage storage, KafkaCompanion companion) {
        this.storage = storage;
        this.companion = companion;
        try {
            this.scratch = Files.createDirectories(Path.of("target", "latent-cache-fixture"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String unique(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    static Path tinyModel() {
        return Path.of(System.getProperty("golden.root", "../../../shared/golden"), "tiny-sd15", "diffusers");
    }

    /** Uploads the tiny model (with the letter tokenizer its text encoder needs) once per bucket. */
    void model() {
        if (!storage.list(MODEL + "/", true).isEmpty()) {
            return;
        }
        uploadTree(tinyModel(), MODEL + "/");
        uploadTree(LetterTokenizer.write(scratch.resolve(unique("tokenizer"))), MODEL + "/tokenizer/");
    }

    /** A job's local mirror: images drawn with {@code seed} in {@code datasets/<dataset>/5_s c/} and its job.toml. */
    Path mirror(String job, String dataset, int images, long seed, boolean flipAug) {
        Path root = scratch.resolve(unique("root"));
        SyntheticImages.write(root.resolve("datasets/" + dataset + "/5_s c"), images, 64, "s c, r d", seed);
        String toml = "method = \"lora\"\npretrained_model_name_or_path = \"" + MODEL + "\"\n"
                + "network_dim = 4\nlearning_rate = 0.005\nseed = 7\ncaption_extension = \".txt\"\n"
                + "max_train_steps = 4\n"
                + "[[datasets]]\nresolution = 64\nbatch_size = 2\n"
                + "  [[datasets.subsets]]\n  image_dir = \"datasets/" + dataset + "/5_s c\"\n"
                + "  class_tokens = \"s c\"\n  num_repeats = 1\n  flip_aug = " + flipAug + "\n";
        write(root.resolve(ObjectKeys.jobSpec(job)), toml);
        return root;
    }

    /** The job's plan, as ingestion's planner makes it from the same objects. */
    static DatasetPlan plan(Path root, String job) {
        JobSpec spec = JobSpecParser.parse(read(root.resolve(ObjectKeys.jobSpec(job))), ObjectKeys.jobSpec(job), job);
        return new LocalDatasetSource(root).plan(spec.dataset(), spec.trainingLength());
    }

    /** Uploads the mirror (images, captions, job.toml) and plan.json, then announces the plan. */
    void submit(Path root, String job) {
        upload(root, job);
        planned(job, job);
    }

    /** Uploads the mirror (images, captions, job.toml) and plan.json. */
    void upload(Path root, String job) {
        model();
        uploadTree(root.resolve("datasets"), "datasets/");
        uploadTree(root.resolve("jobs"), "jobs/");
        byte[] plan = PlanJson.write(plan(root, job)).getBytes(StandardCharsets.UTF_8);
        storage.put(ObjectKeys.plan(job), new ByteArrayInputStream(plan), plan.length, "application/json");
    }

    /** Publishes {@code kiln.jobs.planned} for {@code job} under Kafka key {@code key}. */
    void planned(String job, String key) {
        String body = Json.write(new JobPlanned(job, ObjectKeys.plan(job), 1, 1, 4));
        companion.produceStrings().fromRecords(cloudEvent(Topics.JOBS_PLANNED, key, job, body)).awaitCompletion();
    }

    /** Publishes a record as it was read (a redelivery). */
    void again(ConsumerRecord<String, String> record) {
        ProducerRecord<String, String> copy = new ProducerRecord<>(record.topic(), record.key(), record.value());
        record.headers().forEach(h -> copy.headers().add(h));
        companion.produceStrings().fromRecords(copy).awaitCompletion();
    }

    /** The latents of the job computed locally with {@link LocalLatents} and the tiny model: their folder. */
    static Path localLatents(Path root, String job) {
        try (NDManager manager = NDManager.newBaseManager()) {
            StableDiffusionModel model = StableDiffusionLoader.load(tinyModel(), manager);
            Path folder = root.resolve("cache/latents").resolve(WeightsFingerprint.sha256(model.vaeWeights()));
            new LocalLatents(root, new LatentCache(folder)).fill(plan(root, job), new LatentEncoder(model.vae()),
                    manager, (done, total) -> { });
            return folder;
        }
    }

    /** The body of a record after checking its headers and body against the contract of its topic. */
    static JsonNode valid(ConsumerRecord<String, String> record) {
        JsonNode body = Json.read(record.value(), JsonNode.class);
        assertEquals(List.of(), EventSchemas.validateRecord(record.topic(), TopicWatcher.headers(record), body),
                record.value());
        return body;
    }

    private static ProducerRecord<String, String> cloudEvent(String topic, String key, String subject, String body) {
        ProducerRecord<String, String> record = new ProducerRecord<>(topic, key, body);
        header(record, "ce_specversion", "1.0");
        header(record, "ce_id", UUID.randomUUID().toString());
        header(record, "ce_type", Topics.ceTypeOf(topic));
        header(record, "ce_source", "/kiln/ingestion");
        header(record, "ce_time", Instant.now().toString());
        header(record, "ce_subject", subject);
        return record;
    }

    private static void header(ProducerRecord<String, String> record, String name, String value) {
        record.headers().add(new RecordHeader(name, value.getBytes(StandardCharsets.UTF_8)));
    }

    void uploadTree(Path dir, String prefix) {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path file : walk.filter(Files::isRegularFile).toList()) {
                storage.putFile(prefix + dir.relativize(file).toString().replace('\\', '/'), file, null);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void write(Path file, String text) {
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
