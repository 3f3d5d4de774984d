package dev.kiln.sampler;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.diffusion.train.TinyTrainingFixture;
import dev.kiln.model.events.EventSchemas;
import dev.kiln.model.events.SamplesRequested;
import dev.kiln.model.json.Json;
import dev.kiln.model.keys.ObjectKeys;
import dev.kiln.model.topics.Topics;
import dev.kiln.service.test.S3TestResource;
import dev.kiln.service.test.TopicWatcher;
import io.minio.GetObjectArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.errors.ErrorResponseException;
import io.smallrye.reactive.messaging.kafka.companion.KafkaCompanion;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;

/**
 * What the sampler tests share: the tiny golden SD 1.5 model uploaded as a diffusers folder with its letter
 * tokenizer in {@code tokenizer/}, the golden kohya LoRA as a checkpoint, job.toml files, requests published as the
 * trainer publishes them, and schema-checked reading of the sampler's events.
 */
final class SamplerFixture {
    static final Duration WAIT = Duration.ofSeconds(120);
    static final Path GOLDEN_LORA = TinyTrainingFixture.tinySd15().getParent().resolve("lora")
            .resolve("tiny-sd15-kohya-lora.safetensors");

    private final KafkaCompanion companion;
    private final MinioClient s3 = S3TestResource.server().client();
    private final String bucket = S3TestResource.bucket();

    SamplerFixture(KafkaCompanion companion) {
        this.companion = companion;
    }

    static String uniqueName(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    String bucket() {
        return bucket;
    }

    /** Uploads the tiny model's diffusers folder and its tokenizer under {@code models/<name>/}; returns the prefix. */
    String putTinyModel(String name) {
        String prefix = "models/" + name;
        Path folder = TinyTrainingFixture.tinySd15();
        try (Stream<Path> files = Files.walk(folder)) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                put(prefix + "/" + folder.relativize(file).toString().replace('\\', '/'), Files.readAllBytes(file));
            }
            Path tokenizer = TinyTrainingFixture.writeTokenizer(Files.createTempDirectory("letters"));
            put(prefix + "/tokenizer/tokenizer.json", Files.readAllBytes(tokenizer.resolve("tokenizer.json")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return prefix;
    }

    /** Uploads the golden LoRA as {@code outputs/<job>/<file>}; returns its key. */
    String putCheckpoint(String job, String file) {
        String key = ObjectKeys.outputPrefix(job) + file;
        try {
            put(key, Files.readAllBytes(GOLDEN_LORA));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return key;
    }

    /** {@code jobs/<job>/job.toml}: a LoRA job on {@code model} with extra arguments. */
    void putJob(String job, String model, String extra) {
        String toml = TinyTrainingFixture.job(extra).replaceFirst("pretrained_model_name_or_path = \"[^\"]*\"",
                "pretrained_model_name_or_path = \"" + model + "\"");
        put(ObjectKeys.jobSpec(job), toml.getBytes(StandardCharsets.UTF_8));
    }

    /** Publishes a request as the trainer does: key = job, binary CloudEvent headers with {@code time}. */
    void request(SamplesRequested request, Instant time) {
        ProducerRecord<String, String> record = new ProducerRecord<>(Topics.SAMPLES_REQUESTED, null,
                request.jobId(), Json.write(request), List.of(
                header("ce_specversion", "1.0"), header("ce_id", UUID.randomUUID().toString()),
                header("ce_type", Topics.ceTypeOf(Topics.SAMPLES_REQUESTED)), header("ce_source", "/kiln/trainer"),
                header("ce_subject", request.jobId()), header("ce_time", time.toString())));
        companion.produceStrings().fromRecords(record).awaitCompletion(WAIT);
    }

    private static RecordHeader header(String name, String value) {
        return new RecordHeader(name, value.getBytes(StandardCharsets.UTF_8));
    }

    void put(String key, byte[] bytes) {
        try {
            s3.putObject(PutObjectArgs.builder().bucket(bucket).object(key)
                    .stream(new ByteArrayInputStream(bytes), bytes.length, -1).build());
        } catch (Exception e) {
            throw new IllegalStateException("cannot put " + key, e);
        }
    }

    /** The object's bytes, or null when it does not exist. */
    byte[] bytes(String key) {
        try (InputStream in = s3.getObject(GetObjectArgs.builder().bucket(bucket).object(key).build())) {
            return in.readAllBytes();
        } catch (ErrorResponseException e) {
            if ("NoSuchKey".equals(e.errorResponse().code())) {
                return null;
            }
            throw new IllegalStateException("cannot get " + key, e);
        } catch (Exception e) {
            throw new IllegalStateException("cannot get " + key, e);
        }
    }

    /** The record's body after checking headers and body against the contract. */
    static JsonNode valid(ConsumerRecord<String, String> record) {
        Map<String, String> headers = TopicWatcher.headers(record);
        JsonNode body = Json.read(record.value(), JsonNode.class);
        assertEquals(List.of(), EventSchemas.validateRecord(Topics.TRAINING_PROGRESS, headers, body), body.toString());
        assertEquals("/kiln/sampler", headers.get("ce_source"));
        assertEquals(body.path("jobId").asText(), headers.get("ce_subject"));
        assertEquals(body.path("jobId").asText(), record.key());
        return body;
    }
}
