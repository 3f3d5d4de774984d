package dev.kiln.model.notify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.model.events.EventSchemas;
import dev.kiln.model.events.EventType;
import dev.kiln.model.json.Json;
import dev.kiln.model.json.JsonAssert;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** MinIO notification samples (src/test/resources/minio) in the exact shape MinIO's Kafka target writes. */
class S3EventNotificationTest {

    static byte[] sample(String name) {
        try (InputStream in = S3EventNotificationTest.class.getResourceAsStream("/minio/" + name)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static S3EventNotification parse(String name) {
        return Json.read(sample(name), S3EventNotification.class);
    }

    @Test
    void putCarriesEveryField() {
        S3EventNotification n = parse("put.json");
        assertEquals("s3:ObjectCreated:Put", n.eventName());
        assertEquals("kiln/datasets/cats/10_sks cat/img 001.png", n.key());
        assertTrue(n.isCreated());
        assertFalse(n.isRemoved());
        assertEquals("kiln", n.bucket());
        assertEquals("datasets/cats/10_sks cat/img 001.png", n.objectKey());
        assertEquals(48213L, n.size());
        assertEquals("5d41402abc4b2a76b9719d911017c592", n.eTag());
        assertEquals("188A9F2C3EB1C4D2", n.sequencer());

        S3EventNotification.EventRecord r = n.record();
        assertEquals("2.0", r.eventVersion());
        assertEquals("minio:s3", r.eventSource());
        assertEquals("", r.awsRegion());
        assertEquals(Instant.parse("2026-01-14T09:12:45.318Z"), r.eventInstant());
        assertEquals("s3:ObjectCreated:Put", r.eventName());
        assertEquals("minioadmin", r.userIdentity().principalId());
        assertEquals("172.18.0.1", r.requestParameters().get("sourceIPAddress"));
        assertEquals("188A9F2C3E9D7B10", r.responseElements().get("x-amz-request-id"));
        assertEquals("1.0", r.s3().s3SchemaVersion());
        assertEquals("Config", r.s3().configurationId());
        assertEquals("arn:aws:s3:::kiln", r.s3().bucket().arn());
        assertEquals("minioadmin", r.s3().bucket().ownerIdentity().principalId());
        assertEquals("datasets%2Fcats%2F10_sks+cat%2Fimg+001.png", r.s3().object().key());
        assertEquals("image/png", r.s3().object().contentType());
        assertEquals(Map.of("content-type", "image/png"), r.s3().object().userMetadata());
        assertNull(r.s3().object().versionId());
        assertEquals("172.18.0.1", r.source().host());
        assertEquals("", r.source().port());
        assertTrue(r.source().userAgent().startsWith("MinIO (linux; amd64)"));
    }

    @Test
    void emptyObjectHasNoSizeField() {
        S3EventNotification n = parse("put-empty.json");
        assertTrue(n.isCreated());
        assertEquals(0L, n.size());
        assertNull(n.record().s3().object().size());
    }

    @Test
    void multipartCompleteKeepsPartCountInETagAndLongSize() {
        S3EventNotification n = parse("multipart-complete.json");
        assertEquals(S3EventNotification.OBJECT_CREATED_MULTIPART, n.eventName());
        assertTrue(n.isCreated());
        assertEquals("models/sd15.safetensors", n.objectKey());
        assertEquals(2_132_625_894L, n.size());
        assertEquals("f0a3d7c9b5e1428a9d6c3b2a1e0f9d8c-33", n.eTag());
    }

    @Test
    void copyIsACreation() {
        S3EventNotification n = parse("copy.json");
        assertEquals(S3EventNotification.OBJECT_CREATED_COPY, n.eventName());
        assertTrue(n.isCreated());
        assertEquals("datasets/cats/reg/1_cat/cat (copy).jpg", n.objectKey());
        assertEquals("234", n.record().responseElements().get("content-length"));
    }

    @Test
    void deleteCarriesOnlyKeyAndSequencer() {
        S3EventNotification n = parse("delete.json");
        assertTrue(n.isRemoved());
        assertFalse(n.isCreated());
        assertEquals("datasets/cats/10_sks cat/img 001.png", n.objectKey());
        assertEquals(0L, n.size());
        assertNull(n.eTag());
        assertNull(n.record().s3().object().contentType());
        assertNull(n.record().s3().object().userMetadata());
        assertEquals("188AA01F0B3D5C77", n.sequencer());
    }

    @Test
    void keysAreDecodedExactlyOnce() {
        assertEquals("datasets/猫/5_ねこ ネコ/写真 01.jpg", parse("put-unicode.json").objectKey());
        assertEquals("datasets/cats/10_sks cat/a+b c.png", parse("put-literal-plus.json").objectKey());
        // The object's real name contains "%20" and "%2B": MinIO sends %2520 / %252B, which decode once.
        assertEquals("datasets/cats/10_sks cat/x%20y%2Bz.png", parse("put-percent-in-name.json").objectKey());
    }

    @ParameterizedTest
    @ValueSource(strings = {"put.json", "put-empty.json", "multipart-complete.json", "copy.json", "delete.json",
            "put-unicode.json", "put-literal-plus.json", "put-percent-in-name.json"})
    void decodedKeyAgreesWithTheTopLevelKeyMinioDecodedItself(String name) {
        S3EventNotification n = parse(name);
        assertEquals(n.key(), n.bucketAndKey());
    }

    @ParameterizedTest
    @ValueSource(strings = {"put.json", "put-empty.json", "multipart-complete.json", "copy.json", "delete.json",
            "put-unicode.json", "put-literal-plus.json", "put-percent-in-name.json"})
    void samplesValidateAndReserializeToTheSameJson(String name) throws IOException {
        JsonNode original = Json.mapper().readTree(sample(name));
        assertEquals(List.of(), EventSchemas.validate(EventType.STORAGE_EVENT, original));
        assertEquals(List.of(), EventSchemas.validate(parse(name)));
        JsonAssert.assertSameJson(original, Json.tree(parse(name)), "field names and omissions must match MinIO's");
    }

    @Test
    void unknownFieldsAreIgnored() throws IOException {
        ObjectNode tree = (ObjectNode) Json.mapper().readTree(sample("put.json"));
        tree.put("FutureField", 1);
        ((ObjectNode) tree.get("Records").get(0).get("s3").get("object")).put("checksum", "abc");
        S3EventNotification n = Json.convert(tree, S3EventNotification.class);
        assertEquals("datasets/cats/10_sks cat/img 001.png", n.objectKey());
        // The schema, which checks producers, is strict about them.
        List<String> violations = EventSchemas.validate(EventType.STORAGE_EVENT, tree);
        assertTrue(violations.stream().anyMatch(v -> v.contains("FutureField")), violations.toString());
        assertTrue(violations.stream().anyMatch(v -> v.contains("checksum")), violations.toString());
    }

    @Test
    void quotedETagIsUnquoted() {
        S3EventNotification.S3Object object = new S3EventNotification.S3Object("a.png", 3L, "\"abc\"", null,
                null, null, "1");
        S3EventNotification n = new S3EventNotification("s3:ObjectCreated:Put", "b/a.png",
                List.of(new S3EventNotification.EventRecord(null, null, null, null, null, null, null, null,
                        new S3EventNotification.S3Entity(null, null, new S3EventNotification.Bucket("b", null, null),
                                object), null)));
        assertEquals("abc", n.eTag());
    }

    @Test
    void factoryBuildsMinioShapedCreatedEvents() {
        Instant modified = Instant.parse("2026-01-14T09:12:45.318123456Z");
        String key = "datasets/cats/10_sks cat/a+b %20 猫.png";
        S3EventNotification n = S3EventNotifications.created("kiln", key, 1234, "abc123", "image/png", modified);
        assertTrue(n.isCreated());
        assertEquals(key, n.objectKey());
        assertEquals("kiln/" + key, n.key());
        assertEquals(1234L, n.size());
        assertEquals("abc123", n.eTag());
        assertEquals(Long.toHexString(1_768_381_965_318_123_456L).toUpperCase(), n.sequencer());
        assertEquals("2026-01-14T09:12:45.318Z", n.record().eventTime());

        JsonNode json = Json.tree(n);
        assertEquals(List.of(), EventSchemas.validate(EventType.STORAGE_EVENT, json));
        assertEquals("datasets%2Fcats%2F10_sks+cat%2Fa%2Bb+%2520+%E7%8C%AB.png",
                json.at("/Records/0/s3/object/key").asText());
        S3EventNotification back = Json.read(Json.write(n), S3EventNotification.class);
        assertEquals(n, back);
        assertEquals(key, back.objectKey());
    }

    @Test
    void factoryOmitsEmptyFieldsLikeMinio() {
        Instant t = Instant.parse("2026-01-14T10:00:00Z");
        JsonNode empty = Json.tree(S3EventNotifications.created("kiln", "datasets/d/1_x/e.png", 0, "d41d8", "image/png", t));
        assertFalse(empty.at("/Records/0/s3/object").has("size"));
        assertEquals(List.of(), EventSchemas.validate(EventType.STORAGE_EVENT, empty));

        S3EventNotification removed = S3EventNotifications.removed("kiln", "datasets/d/1_x/e.png", t);
        assertTrue(removed.isRemoved());
        JsonNode object = Json.tree(removed).at("/Records/0/s3/object");
        assertEquals(List.of("key", "sequencer"), iterable(object.fieldNames()));
        assertEquals(List.of(), EventSchemas.validate(removed));
    }

    private static List<String> iterable(java.util.Iterator<String> it) {
        List<String> out = new java.util.ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }
}
