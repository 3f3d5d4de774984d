package dev.kiln.ingestion.scanner;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import dev.kiln.model.json.Json;
import dev.kiln.model.notify.S3EventNotification;
import dev.kiln.model.notify.S3EventNotifications;
import dev.kiln.service.storage.ObjectInfo;
import dev.kiln.service.storage.S3Storage;
import dev.kiln.service.storage.StorageException;
import org.jboss.logging.Logger;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Finds created, overwritten and deleted objects by listing the watched prefixes and comparing with the
 * last published state, and publishes MinIO-format events for them.
 *
 * <p>The state (key -> ETag, size, time) is stored in the bucket at {@code stateKey} after each batch is
 * acknowledged by Kafka. A crash between publishing and saving republishes that batch on restart
 * (consumers are idempotent on bucket/key + ETag); nothing is lost and nothing older is republished.
 * Without a saved state (the first run) every existing object is announced once.
 */
public class BucketScanner {
    private static final Logger LOG = Logger.getLogger(BucketScanner.class);
    private static final TypeReference<TreeMap<String, ObjectVersion>> STATE_TYPE = new TypeReference<>() {
    };

    private final S3Storage storage;
    private final StorageEventPublisher publisher;
    private final List<String> prefixes;
    private final String stateKey;
    private final Clock clock;
    private Map<String, ObjectVersion> published;
    private boolean stateDirty;

    public BucketScanner(S3Storage storage, StorageEventPublisher publisher, List<String> prefixes, String stateKey,
                         Clock clock) {
        for (String prefix : prefixes) {
            if (stateKey.startsWith(prefix)) {
                throw new IllegalArgumentException("kiln.scanner.state-key '" + stateKey
                        + "' must not be under a watched prefix ('" + prefix + "')");
            }
        }
        this.storage = storage;
        this.publisher = publisher;
        this.prefixes = List.copyOf(prefixes);
        this.stateKey = stateKey;
        this.clock = clock;
    }

    /**
     * One scan: list, compare, publish, save.
     *
     * @return the events published
     * @throws StorageException or the publisher's exception; the next scan then starts from the same state
     */
    public synchronized List<S3EventNotification> scanOnce() {
        if (published == null) {
            published = loadState();
        }
        Map<String, ObjectVersion> current = new TreeMap<>();
        for (String prefix : prefixes) {
            for (ObjectInfo object : storage.list(prefix, true)) {
                if (isComplete(object)) {
                    current.put(object.key(), new ObjectVersion(object.eTag(), object.size(), object.lastModified()));
                }
            }
        }
        List<S3EventNotification> events = changes(current);
        if (!events.isEmpty()) {
            publisher.publishAll(events);
            LOG.infof("scanner published %d storage event(s) for bucket '%s'", events.size(), storage.bucket());
            published = current;
            stateDirty = true;
        }
        if (stateDirty) {
            saveState();
        }
        return events;
    }

    /**
     * Whether a listed object is a finished upload. s3proxy's filesystem backend lists an upload in progress
     * as {@code <key>-<uuid>} without an ETag; announcing it would send a created and then a removed event
     * for a key nobody wrote. Every finished object has an ETag.
     */
    static boolean isComplete(ObjectInfo object) {
        return object.eTag() != null && !object.eTag().isBlank();
    }

    private List<S3EventNotification> changes(Map<String, ObjectVersion> current) {
        List<S3EventNotification> events = new ArrayList<>();
        Instant now = clock.instant();
        current.forEach((key, version) -> {
            ObjectVersion before = published.get(key);
            if (before == null || before.differsFrom(version)) {
                Instant time = version.lastModified() != null ? version.lastModified() : now;
                events.add(S3EventNotifications.created(storage.bucket(), key, version.size(), version.eTag(),
                        null, time));
            }
        });
        for (String key : published.keySet()) {
            if (!current.containsKey(key)) {
                events.add(S3EventNotifications.removed(storage.bucket(), key, now));
            }
        }
        return events;
    }

    private Map<String, ObjectVersion> loadState() {
        try (InputStream in = storage.get(stateKey)) {
            Map<String, ObjectVersion> state = Json.mapper().readValue(in, STATE_TYPE);
            LOG.infof("scanner resumes from s3://%s/%s (%d objects)", storage.bucket(), stateKey, state.size());
            return state;
        } catch (StorageException e) {
            if (e.isNotFound()) {
                LOG.infof("scanner has no saved state at s3://%s/%s: announcing every existing object once",
                        storage.bucket(), stateKey);
                return new TreeMap<>();
            }
            throw e;
        } catch (JsonProcessingException e) {
            // a damaged state file: starting over republishes (harmless) rather than losing events
            LOG.warnf("scanner state s3://%s/%s is not valid JSON (%s): starting from an empty state",
                    storage.bucket(), stateKey, e.getOriginalMessage());
            return new TreeMap<>();
        } catch (IOException e) {
            throw new StorageException("get", storage.bucket(), stateKey, "reading failed: " + e.getMessage(), false, e);
        }
    }

    private void saveState() {
        byte[] json = Json.write(published).getBytes(StandardCharsets.UTF_8);
        try {
            storage.put(stateKey, new ByteArrayInputStream(json), json.length, "application/json");
            stateDirty = false;
        } catch (StorageException e) {
            // the events are out; the state will be saved by the next scan (or republished after a restart)
            LOG.warnf("scanner cannot save its state: %s", e.getMessage());
        }
    }
}
