package dev.kiln.trainer.state;

import dev.kiln.diffusion.train.TrainingState;
import dev.kiln.model.json.Json;
import dev.kiln.model.keys.ObjectKeys;
import dev.kiln.service.storage.ObjectInfo;
import dev.kiln.service.storage.S3Storage;
import dev.kiln.service.storage.StorageException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;

/**
 * A job's resumable state and its end in the bucket, under {@code outputs/<job>/state/}:
 * <ul>
 *   <li>{@code step-<N>/} a state folder as the engine writes it ({@code network.safetensors},
 *       {@code optimizer.safetensors}, {@code train_state.json});</li>
 *   <li>{@code latest}: the name of the newest complete state folder, written after all of its files, so a trainer
 *       killed during an upload leaves the previous state in force;</li>
 *   <li>{@code ended.json}: the job's terminal outcome; a job that has one is never trained again.</li>
 * </ul>
 */
public final class StateStore {

    static final String LATEST = "latest";
    static final String ENDED = "ended.json";

    /** How a job ended. */
    public record Ended(String jobId, String status, String artifact, long step, Instant time) {
    }

    private final S3Storage storage;

    public StateStore(S3Storage storage) {
        this.storage = storage;
    }

    /** The job's terminal outcome, or null while it has none. */
    public Ended ended(String job) {
        String key = ObjectKeys.stateKey(job, ENDED);
        try (InputStream in = storage.get(key)) {
            return Json.read(in.readAllBytes(), Ended.class);
        } catch (StorageException e) {
            if (e.isNotFound()) {
                return null;
            }
            throw e;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + key, e);
        }
    }

    public void markEnded(Ended ended) {
        putText(ObjectKeys.stateKey(ended.jobId(), ENDED), Json.write(ended));
    }

    /** Uploads a local state folder as the job's newest state, then removes the older ones. */
    public String upload(String job, Path stateDir, long step) {
        String name = "step-" + step;
        for (String file : List.of(TrainingState.NETWORK_FILE, TrainingState.OPTIMIZER_FILE, TrainingState.STATE_FILE)) {
            storage.putFile(ObjectKeys.stateKey(job, name + "/" + file), stateDir.resolve(file),
                    "application/octet-stream");
        }
        putText(ObjectKeys.stateKey(job, LATEST), name);
        for (ObjectInfo old : storage.list(ObjectKeys.statePrefix(job) + "step-", true)) {
            if (!old.key().startsWith(ObjectKeys.statePrefix(job) + name + "/")) {
                storage.delete(old.key());
            }
        }
        return ObjectKeys.statePrefix(job) + name + "/";
    }

    /** Downloads the job's newest state into {@code target}; returns it, or null when the job has none. */
    public Path download(String job, Path target) {
        String name;
        try (InputStream in = storage.get(ObjectKeys.stateKey(job, LATEST))) {
            name = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
        } catch (StorageException e) {
            if (e.isNotFound()) {
                return null;
            }
            throw e;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + ObjectKeys.stateKey(job, LATEST), e);
        }
        String prefix = ObjectKeys.stateKey(job, name + "/");
        for (ObjectInfo file : storage.list(prefix, false)) {
            storage.getToFile(file.key(), target.resolve(file.key().substring(prefix.length())));
        }
        if (!TrainingState.isState(target)) {
            throw new IllegalStateException(prefix + " is not a complete training state (named by "
                    + ObjectKeys.stateKey(job, LATEST) + ")");
        }
        return target;
    }

    /** Uploads every file below {@code dir} under {@code prefix} (an engine's save_state folder). */
    public void uploadTree(Path dir, String prefix) {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path file : walk.filter(Files::isRegularFile).toList()) {
                String relative = dir.relativize(file).toString().replace('\\', '/');
                storage.putFile(ObjectKeys.requireSafe(prefix + relative), file, "application/octet-stream");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
    }

    private void putText(String key, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        storage.put(key, new ByteArrayInputStream(bytes), bytes.length, "text/plain; charset=utf-8");
    }
}
