package dev.kiln.latentcache.job;

import dev.kiln.model.json.Json;
import dev.kiln.service.storage.ObjectInfo;
import dev.kiln.service.storage.S3Storage;
import dev.kiln.service.storage.StorageException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The latent-cache service's state per job, in the bucket so any instance can take a job over:
 * {@code state/latent-cache/<job>.json} (the plan version it is for, the hit/miss counts taken before the first task
 * was published, and whether the job is running, cached or failed) and one object per image a worker could not
 * encode, {@code state/latent-cache/<job>/failed/<image-sha256>.json}, which the job's owner turns into its
 * {@code failed} event.
 */
public final class JobStates {
    static final String PREFIX = "state/latent-cache/";

    /** Where a job is. */
    public enum Status { RUNNING, CACHED, FAILED }

    /** A job's state; {@code planETag} ties it to one version of {@code plan.json}. */
    public record State(String jobId, String planETag, String vaeSha256, long hits, long misses, Status status) {
        State with(Status next) {
            return new State(jobId, planETag, vaeSha256, hits, misses, next);
        }
    }

    /** What a worker reports about an image it cannot encode. */
    public record Failure(String jobId, String imageKey, String imageSha256, String message) {
    }

    private final S3Storage storage;

    public JobStates(S3Storage storage) {
        this.storage = storage;
    }

    public static String stateKey(String job) {
        return PREFIX + job + ".json";
    }

    public static String failurePrefix(String job) {
        return PREFIX + job + "/failed/";
    }

    /** The job's state, or null when it has none. */
    public State read(String job) {
        return readJson(stateKey(job), State.class);
    }

    public void write(State state) {
        writeJson(stateKey(state.jobId()), state);
    }

    /** Records that an image of {@code failure.jobId()} cannot be encoded. */
    public void fail(Failure failure) {
        writeJson(failurePrefix(failure.jobId()) + failure.imageSha256() + ".json", failure);
    }

    /** The failures reported for a job, by key (a stable "first" one). */
    public List<Failure> failures(String job) {
        List<ObjectInfo> objects = new ArrayList<>(storage.list(failurePrefix(job), false));
        objects.sort(Comparator.comparing(ObjectInfo::key));
        List<Failure> out = new ArrayList<>();
        for (ObjectInfo o : objects) {
            Failure f = readJson(o.key(), Failure.class);
            if (f != null) {
                out.add(f);
            }
        }
        return out;
    }

    /** True when the job has failed or has any failure reported (workers skip its remaining tasks). */
    public boolean hasFailed(String job) {
        return !storage.list(failurePrefix(job), false).isEmpty();
    }

    /** Removes the failures of an earlier run of the job (a new plan starts clean). */
    public void clearFailures(String job) {
        for (ObjectInfo o : storage.list(failurePrefix(job), false)) {
            storage.delete(o.key());
        }
    }

    private <T> T readJson(String key, Class<T> type) {
        try (InputStream in = storage.get(key)) {
            return Json.read(in.readAllBytes(), type);
        } catch (StorageException e) {
            if (e.isNotFound()) {
                return null;
            }
            throw e;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + key + ": " + e.getMessage(), e);
        }
    }

    private void writeJson(String key, Object value) {
        byte[] json = Json.write(value).getBytes(StandardCharsets.UTF_8);
        storage.put(key, new ByteArrayInputStream(json), json.length, "application/json");
    }
}
