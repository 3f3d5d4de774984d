package dev.kiln.captioning.sidecar;

import dev.kiln.model.dataset.Captions;
import dev.kiln.model.keys.KeyLayout;
import dev.kiln.service.storage.S3Storage;
import dev.kiln.service.storage.StorageException;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Caption sidecars in the bucket: which exist, what they say, and writing a generated one. A generated caption
 * is written only where no sidecar of the image exists, checked right before the write; an existing object is
 * never written over, whoever made it.
 */
@ApplicationScoped
public class Sidecars {
    /** A caption is a line of tags or a sentence; larger files are not read as captions. */
    static final int MAX_CAPTION_BYTES = 64 * 1024;
    private static final String CONTENT_TYPE = "text/plain; charset=utf-8";

    private final S3Storage storage;

    @Inject
    public Sidecars(S3Storage storage) {
        this.storage = storage;
    }

    /**
     * Every key that would be a caption of {@code imageKey}: the sidecar with {@code extension} (as sd-scripts looks
     * for it, face-crop name included) and those with the default extensions {@code .txt} and {@code .caption}
     * that ingestion reads. The first is the key a generated caption is written to.
     */
    public static List<String> candidates(String imageKey, String extension) {
        Set<String> keys = new LinkedHashSet<>(Captions.sidecarCandidates(imageKey, extension));
        for (String defaultExtension : KeyLayout.DEFAULT_CAPTION_EXTENSIONS) {
            keys.addAll(Captions.sidecarCandidates(imageKey, defaultExtension));
        }
        return List.copyOf(keys);
    }

    /** The first of {@code keys} that exists in the bucket. */
    public Optional<String> firstExisting(List<String> keys) {
        for (String key : keys) {
            if (storage.exists(key)) {
                return Optional.of(key);
            }
        }
        return Optional.empty();
    }

    /**
     * The caption a sidecar holds, read as sd-scripts reads it (first line, stripped; a byte-order mark removed);
     * empty when the object is gone, too large, not UTF-8 or holds no caption (ingestion rejects those).
     */
    public Optional<String> read(String key) {
        byte[] bytes;
        try (InputStream in = storage.get(key)) {
            bytes = in.readNBytes(MAX_CAPTION_BYTES + 1);
        } catch (StorageException | IOException e) {
            return Optional.empty();
        }
        if (bytes.length > MAX_CAPTION_BYTES) {
            return Optional.empty();
        }
        try {
            String text = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
            String caption = Captions.fromSidecar(text, false);
            return caption == null || caption.isEmpty() ? Optional.empty() : Optional.of(caption);
        } catch (CharacterCodingException e) {
            return Optional.empty();
        }
    }

    /**
     * Writes {@code caption} (one line) to {@code candidates.get(0)} unless any of {@code candidates} exists.
     *
     * @return the existing sidecar's key when one was found (nothing written), empty when written
     */
    public Optional<String> createIfAbsent(List<String> candidates, String caption) {
        // S3Storage has no conditional put (If-None-Match); this check is right before the write
        Optional<String> existing = firstExisting(candidates);
        if (existing.isPresent()) {
            return existing;
        }
        byte[] bytes = (caption + "\n").getBytes(StandardCharsets.UTF_8);
        storage.put(candidates.get(0), new ByteArrayInputStream(bytes), bytes.length, CONTENT_TYPE);
        return Optional.empty();
    }
}
