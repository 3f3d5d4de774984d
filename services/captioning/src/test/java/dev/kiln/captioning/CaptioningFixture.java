package dev.kiln.captioning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.captioning.tagger.ColourTagger;
import dev.kiln.model.events.ColorMode;
import dev.kiln.model.events.EventSchemas;
import dev.kiln.model.events.ImageAccepted;
import dev.kiln.model.events.ImageFormat;
import dev.kiln.model.events.JobSubmitted;
import dev.kiln.model.job.JobSpecParser;
import dev.kiln.model.json.Json;
import dev.kiln.model.keys.ObjectKeys;
import dev.kiln.model.keys.SubsetFolder;
import dev.kiln.model.topics.Topics;
import dev.kiln.service.test.S3TestResource;
import dev.kiln.service.test.TopicWatcher;
import io.minio.GetObjectArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.StatObjectArgs;
import io.minio.errors.ErrorResponseException;
import io.smallrye.reactive.messaging.kafka.companion.KafkaCompanion;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.UUID;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * What the captioning tests share: real objects in the test bucket (PNG images, sidecars, the ONNX colour tagger),
 * the records ingestion would publish, and schema-checked reading of what the service publishes.
 */
final class CaptioningFixture {
    static final Duration WAIT = Duration.ofSeconds(60);
    static final int RED = 0xFF0000;
    static final int GREEN = 0x00FF00;
    static final int BLUE = 0x0000FF;

    private final KafkaCompanion companion;
    private final MinioClient s3 = S3TestResource.server().client();
    private final String bucket = S3TestResource.bucket();

    CaptioningFixture(KafkaCompanion companion) {
        this.companion = companion;
    }

    /** A dataset (and job) name no other test uses. */
    static String uniqueName(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** Writes the colour tagger and its selected_tags.csv under {@code folder} ({@code models/x/}). */
    String putColourTagger(String folder) {
        try {
            Path dir = Files.createTempDirectory("colour-tagger");
            put(folder + "selected_tags.csv", Files.readAllBytes(ColourTagger.writeCsv(dir.resolve("tags.csv"),
                    ColourTagger.TAGS)));
            put(folder + "tagger.onnx", Files.readAllBytes(ColourTagger.writeModel(dir.resolve("m.onnx"), 32)));
            return folder + "tagger.onnx";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A solid-colour square PNG at {@code key} (so its mean colour is exact after resizing); returns its bytes. */
    byte[] putImage(String key, int rgb) {
        BufferedImage image = new BufferedImage(24, 24, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                image.setRGB(x, y, rgb);
            }
        }
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        try {
            ImageIO.write(image, "png", png);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        put(key, png.toByteArray());
        return png.toByteArray();
    }

    void put(String key, String text) {
        put(key, text.getBytes(StandardCharsets.UTF_8));
    }

    void put(String key, byte[] bytes) {
        try {
            s3.putObject(PutObjectArgs.builder().bucket(bucket).object(key)
                    .stream(new ByteArrayInputStream(bytes), bytes.length, -1).build());
        } catch (Exception e) {
            throw new IllegalStateException("cannot put " + key, e);
        }
    }

    /** The object's text, or null when it does not exist. */
    String text(String key) {
        try (InputStream in = s3.getObject(GetObjectArgs.builder().bucket(bucket).object(key).build())) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (ErrorResponseException e) {
            if ("NoSuchKey".equals(e.errorResponse().code())) {
                return null;
            }
            throw new IllegalStateException("cannot get " + key, e);
        } catch (Exception e) {
            throw new IllegalStateException("cannot get " + key, e);
        }
    }

    String eTag(String key) {
        try {
            return s3.statObject(StatObjectArgs.builder().bucket(bucket).object(key).build()).etag();
        } catch (Exception e) {
            throw new IllegalStateException("cannot stat " + key, e);
        }
    }

    /** Publishes what ingestion publishes for an accepted image of a kohya subset folder. */
    void accepted(String key, byte[] bytes, String caption) {
        var parsed = ObjectKeys.parse(key);
        SubsetFolder subset = parsed.subset();
        ImageAccepted event = new ImageAccepted(key, parsed.dataset(), sha256(bytes), 24, 24, ImageFormat.PNG,
                ColorMode.RGB, 8, bytes.length, "etag", subset, caption);
        companion.produceStrings().fromRecords(new ProducerRecord<>(Topics.IMAGES_ACCEPTED, parsed.dataset(),
                Json.write(event))).awaitCompletion(WAIT);
    }

    /** Uploads {@code jobs/<job>/job.toml} and publishes what ingestion publishes for it. */
    void submit(String job, String toml) {
        String key = ObjectKeys.jobSpec(job);
        put(key, toml);
        ObjectNode spec = (ObjectNode) Json.tree(JobSpecParser.parse(toml, key, job).toJson());
        companion.produceStrings().fromRecords(new ProducerRecord<>(Topics.JOBS_SUBMITTED, job,
                Json.write(new JobSubmitted(job, key, spec)))).awaitCompletion(WAIT);
    }

    /** The record's body after checking headers and body against the contract. */
    static JsonNode valid(String topic, ConsumerRecord<String, String> record) {
        Map<String, String> headers = TopicWatcher.headers(record);
        JsonNode body = Json.read(record.value(), JsonNode.class);
        assertEquals(java.util.List.of(), EventSchemas.validateRecord(topic, headers, body), body.toString());
        assertEquals("/kiln/captioning", headers.get("ce_source"));
        assertFalse(headers.getOrDefault("ce_id", "").isBlank());
        return body;
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
