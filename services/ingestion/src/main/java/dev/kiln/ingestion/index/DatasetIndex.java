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
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * The durable dataset index: one {@link ObjectRecord} per object under {@code datasets/}, kept per dataset in
 * {@code state/index/datasets/<dataset>.json} (objects with no usable dataset name in
 * {@code state/index/other.json}). Each file is written whole with one PUT, which S3 makes atomic: a reader
 * sees the old or the new index, never a mix. Loaded lazily, saved by {@link #saveDirty()} before the batch that
 * changed it commits on Kafka. In memory, each dataset's records are sorted by key (prefix queries walk only the
 * matching range) and indexed by SHA-256 (the duplicate check looks at the few records with the same bytes), so
 * ingesting a dataset of N images costs O(N log N), not O(N^2). Thread-safe.
 */
public final class DatasetIndex {
    private static final Logger LOG = Logger.getLogger(DatasetIndex.class);
    public static final String PREFIX = "state/index/";
    static final String OTHER = "other";

    private final S3Storage storage;
    private final Map<String, Records> indexes = new HashMap<>();
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
        return index(datasetOf(key)).byKey.get(key);
    }

    public synchronized void put(ObjectRecord record) {
        String dataset = datasetOf(record.key());
        index(dataset).put(record);
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

    /** The records of one dataset that match (a scan of the whole dataset: for rare events only). */
    public synchronized List<ObjectRecord> find(String dataset, Predicate<ObjectRecord> match) {
        List<ObjectRecord> found = new ArrayList<>();
        for (ObjectRecord record : index(dataset).byKey.values()) {
            if (match.test(record)) {
                found.add(record);
            }
        }
        return found;
    }

    /** The records of one dataset whose content has this SHA-256, in key order. */
    public synchronized List<ObjectRecord> withSha256(String dataset, String sha256) {
        Records records = index(dataset);
        Set<String> keys = records.keysBySha256.get(sha256);
        if (keys == null) {
            return List.of();
        }
        List<ObjectRecord> found = new ArrayList<>(keys.size());
        for (String key : keys) {
            found.add(records.byKey.get(key));
        }
        return found;
    }

    /**
     * Every record whose key starts with {@code prefix} (a prefix under {@code datasets/<dataset>/}, e.g. a
     * folder, or a folder and a file name's stem), in key order.
     */
    public synchronized List<ObjectRecord> under(String prefix) {
        String dataset = datasetOf(prefix.endsWith("/") ? prefix + "x" : prefix + "/x");
        if (dataset == null) {
            return List.of();
        }
        List<ObjectRecord> found = new ArrayList<>();
        for (Map.Entry<String, ObjectRecord> entry : index(dataset).byKey.tailMap(prefix, true).entrySet()) {
            if (!entry.getKey().startsWith(prefix)) {
                break; // sorted: no later key has the prefix
            }
            found.add(entry.getValue());
        }
        return found;
    }

    /** Writes every index changed since the last save (each with one atomic PUT). */
    public void saveDirty() {
        Map<String, List<ObjectRecord>> changed = new HashMap<>();
        synchronized (this) {
            for (String name : dirty) {
                changed.put(name, List.copyOf(indexes.get(name).byKey.values()));
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
    private Records index(String dataset) {
        String name = nameOf(dataset);
        Records index = indexes.get(name);
        if (index == null) {
            index = load(dataset);
            indexes.put(name, index);
        }
        return index;
    }

    private Records load(String dataset) {
        Records records = new Records();
        String key = indexKey(dataset);
        try (InputStream in = storage.get(key)) {
            IndexFile file = Json.read(in.readAllBytes(), IndexFile.class);
            for (ObjectRecord record : file.records()) {
                records.put(record);
            }
            LOG.infof("dataset index %s: %d record(s) loaded", key, records.byKey.size());
        } catch (StorageException e) {
            if (!e.isNotFound()) {
                throw e;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read dataset index " + key + ": " + e.getMessage(), e);
        }
        return records;
    }

    /** One dataset's records by key, and the keys of each SHA-256 (records without one are not in it). */
    private static final class Records {
        final NavigableMap<String, ObjectRecord> byKey = new TreeMap<>();
        final Map<String, Set<String>> keysBySha256 = new HashMap<>();

        void put(ObjectRecord record) {
            unlinkSha256(byKey.put(record.key(), record));
            if (record.sha256() != null) {
                keysBySha256.computeIfAbsent(record.sha256(), sha -> new TreeSet<>()).add(record.key());
            }
        }

        ObjectRecord remove(String key) {
            ObjectRecord removed = byKey.remove(key);
            unlinkSha256(removed);
            return removed;
        }

        private void unlinkSha256(ObjectRecord old) {
            if (old == null || old.sha256() == null) {
                return;
            }
            Set<String> keys = keysBySha256.get(old.sha256());
            if (keys != null && keys.remove(old.key()) && keys.isEmpty()) {
                keysBySha256.remove(old.sha256());
            }
        }
    }
}
