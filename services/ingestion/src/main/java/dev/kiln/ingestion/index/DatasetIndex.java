package dev.kiln.ingestion.index;

import dev.kiln.model.json.Json;
import dev.kiln.model.keys.ObjectKeys;
import dev.kiln.service.storage.S3Storage;
import dev.kiln.service.storage.StorageException;
import org.jboss.logging.Logger;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * The durable dataset index: one {@link ObjectRecord} per object under {@code datasets/}, kept per dataset in
 * {@code state/index/datasets/<dataset>.json} (objects with no usable dataset name in
 * {@code state/index/other.json}). Each file is written whole with one PUT, which S3 makes atomic: a reader
 * sees the old or the new index, never a mix. Loaded lazily, saved by {@link #saveDirty()} before the batch that
 * changed it commits on Kafka. Thread-safe.
 */
public final class DatasetIndex {
    private static final Logger LOG = Logger.getLogger(DatasetIndex.class);
    public static final String PREFIX = "state/index/";
    static final String OTHER = "other";

    private final S3Storage storage;
    private final Map<String, Map<String, ObjectRecord>> indexes = new HashMap<>();
    private final Set<String> dirty = new HashSet<>();

    /** The persisted form of one dataset's index. */
    record IndexFile(String dataset, List<ObjectRecord> records) {
        IndexFile {
            records = records == null ? List.of() : records;
        }
    }

    public DatasetIndex(S3Storage storage) {
        this.storage = storage;
    }

    /** The dataset an object key belongs to, or null when it names none usable. */
    public static String datasetOf(String key) {
        if (key == null || !key.startsWith(ObjectKeys.DATASETS)) {
            return null;
        }
        String[] segments = key.split("/");
        if (segments.length < 3 || segments[1].startsWith(".") || ObjectKeys.problem(segments[1]) != null) {
            return null;
        }
        return segments[1];
    }

    /** The object key of a dataset's index file. */
    public static String indexKey(String dataset) {
        return dataset == null ? PREFIX + OTHER + ".json" : PREFIX + "datasets/" + dataset + ".json";
    }

    public synchronized ObjectRecord get(String key) {
        return index(datasetOf(key)).get(key);
    }

    public synchronized void put(ObjectRecord record) {
        String dataset = datasetOf(record.key());
        index(dataset).put(record.key(), record);
        dirty.add(nameOf(dataset));
    }

    /** Removes the record of {@code key}; returns it, or null when there was none. */
    public synchronized ObjectRecord remove(String key) {
        String dataset = datasetOf(key);
        ObjectRecord removed = index(dataset).remove(key);
        if (removed != null) {
            dirty.add(nameOf(dataset));
        }
        return removed;
    }

    /** The records of one dataset that match. */
    public synchronized List<ObjectRecord> find(String dataset, Predicate<ObjectRecord> match) {
        List<ObjectRecord> found = new ArrayList<>();
        for (ObjectRecord record : index(dataset).values()) {
            if (match.test(record)) {
                found.add(record);
            }
        }
        return found;
    }

    /** Every record whose key starts with {@code prefix} (a prefix under {@code datasets/<dataset>/}). */
    public synchronized List<ObjectRecord> under(String prefix) {
        String dataset = datasetOf(prefix.endsWith("/") ? prefix + "x" : prefix + "/x");
        if (dataset == null) {
            return List.of();
        }
        return find(dataset, r -> r.key().startsWith(prefix));
    }

    /** Writes every index changed since the last save (each with one atomic PUT). */
    public void saveDirty() {
        Map<String, List<ObjectRecord>> changed = new HashMap<>();
        synchronized (this) {
            for (String name : dirty) {
                changed.put(name, List.copyOf(indexes.get(name).values()));
            }
            dirty.clear();
        }
        try {
            changed.forEach((name, records) -> {
                String dataset = OTHER.equals(name) ? null : name;
                byte[] json = Json.write(new IndexFile(dataset, records)).getBytes(StandardCharsets.UTF_8);
                storage.put(indexKey(dataset), new ByteArrayInputStream(json), json.length, "application/json");
            });
        } catch (RuntimeException e) {
            synchronized (this) {
                dirty.addAll(changed.keySet()); // saved again with the retried batch
            }
            throw e;
        }
    }

    private static String nameOf(String dataset) {
        return dataset == null ? OTHER : dataset;
    }

    /** The records of {@code dataset} (null: the "other" index), loading the file on first use. */
    private Map<String, ObjectRecord> index(String dataset) {
        String name = nameOf(dataset);
        Map<String, ObjectRecord> index = indexes.get(name);
        if (index == null) {
            index = load(dataset);
            indexes.put(name, index);
        }
        return index;
    }

    private Map<String, ObjectRecord> load(String dataset) {
        Map<String, ObjectRecord> records = new TreeMap<>();
        String key = indexKey(dataset);
        try (InputStream in = storage.get(key)) {
            IndexFile file = Json.read(in.readAllBytes(), IndexFile.class);
            for (ObjectRecord record : file.records()) {
                records.put(record.key(), record);
            }
            LOG.infof("dataset index %s: %d record(s) loaded", key, records.size());
        } catch (StorageException e) {
            if (!e.isNotFound()) {
                throw e;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read dataset index " + key + ": " + e.getMessage(), e);
        }
        return records;
    }
}
