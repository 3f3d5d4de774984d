package dev.kiln.latentcache.plan;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.model.json.Json;
import dev.kiln.service.storage.S3Storage;
import dev.kiln.service.storage.StorageException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;

/**
 * The sha256 of planned images, which names their cache entries: from ingestion's dataset index
 * ({@code state/index/datasets/<dataset>.json}, each record's {@code key} and {@code sha256}) when it has the image,
 * else by reading the object. A worker checks the hash again on the bytes it encodes, so an image replaced after
 * planning is reported rather than cached under the wrong name.
 */
public final class ImageHashes {
    private static final String INDEX_PREFIX = "state/index/datasets/";

    private final S3Storage storage;
    private final Map<String, Map<String, String>> indexes = new HashMap<>();

    public ImageHashes(S3Storage storage) {
        this.storage = storage;
    }

    /** The image's sha256 (lower-case hex); a missing or unreadable object is an error naming the key. */
    public String sha256(String imageKey) {
        String known = index(dataset(imageKey)).get(imageKey);
        return known != null ? known : hash(imageKey);
    }

    private Map<String, String> index(String dataset) {
        if (dataset == null) {
            return Map.of();
        }
        return indexes.computeIfAbsent(dataset, d -> {
            Map<String, String> shas = new HashMap<>();
            String key = INDEX_PREFIX + d + ".json";
            try (InputStream in = storage.get(key)) {
                JsonNode records = Json.read(in.readAllBytes(), JsonNode.class).path("records");
                for (JsonNode record : records) {
                    String sha = record.path("sha256").asText("");
                    if (sha.matches("[0-9a-f]{64}") && "ACCEPTED".equalsIgnoreCase(record.path("status").asText())) {
                        shas.put(record.path("key").asText(), sha);
                    }
                }
            } catch (StorageException e) {
                if (!e.isNotFound()) {
                    throw e;
                }
            } catch (IOException | IllegalArgumentException e) {
                // an index we cannot read costs a download per image, not the job
                return Map.of();
            }
            return shas;
        });
    }

    private String hash(String imageKey) {
        try (InputStream in = storage.get(imageKey)) {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (StorageException e) {
            throw new IllegalArgumentException(e.isNotFound() ? imageKey + " does not exist (planned image)"
                    : imageKey + " cannot be read: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException(imageKey + " cannot be read: " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String dataset(String key) {
        String[] segments = key.split("/");
        return segments.length >= 3 && segments[0].equals("datasets") ? segments[1] : null;
    }
}
