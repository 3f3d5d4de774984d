package dev.kiln.ingestion.image;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Validates images on a fixed number of threads with a bounded backlog: {@link #submit} blocks while
 * {@code parallelism + backlog} images are in flight, so memory stays bounded whatever the upload rate (each
 * decode holds at most one image's pixels, within {@link ImageLimits}).
 */
public final class ValidationPool implements AutoCloseable {
    /** Opens the object's stream on a worker thread, so only {@code parallelism} streams are open at once. */
    @FunctionalInterface
    public interface StreamOpener {
        InputStream open() throws IOException;
    }

    private final ImageValidator validator;
    private final ImageLimits limits;
    private final ExecutorService workers;
    private final Semaphore slots;

    /**
     * @param parallelism images decoded at once (a few per core: decoding is CPU-bound)
     * @param backlog     images waiting beyond those before {@link #submit} blocks
     */
    public ValidationPool(ImageValidator validator, ImageLimits limits, int parallelism, int backlog) {
        if (parallelism < 1 || backlog < 0) {
            throw new IllegalArgumentException("parallelism must be >= 1 and backlog >= 0: " + parallelism + ", " + backlog);
        }
        this.validator = validator;
        this.limits = limits;
        AtomicInteger number = new AtomicInteger();
        this.workers = Executors.newFixedThreadPool(parallelism, task -> {
            Thread thread = new Thread(task, "kiln-image-validation-" + number.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
        this.slots = new Semaphore(parallelism + backlog);
    }

    /**
     * Queues one object; blocks while the pool is full. The future fails (with the stream's exception) only when
     * the object could not be read; every content problem is a {@link Rejection}.
     */
    public CompletableFuture<ValidationResult> submit(String key, long declaredSize, StreamOpener opener)
            throws InterruptedException {
        return run(validation -> {
            try (InputStream in = opener.open()) {
                return validation.validate(key, in, declaredSize);
            } catch (IOException e) {
                throw new UncheckedIOException(key + ": " + e.getMessage(), e);
            }
        });
    }

    /** Work on one object with this pool's validator: the caller opens and checks what it needs first. */
    @FunctionalInterface
    public interface Task<T> {
        T run(Validation validation);
    }

    /** The validator and limits a {@link Task} uses. */
    public interface Validation {
        /** {@link ImageValidator#validate} with the pool's limits. */
        ValidationResult validate(String key, InputStream stream, long declaredSize) throws IOException;
    }

    /** Queues any per-object task on the pool's threads, under the same bound as {@link #submit}. */
    public <T> CompletableFuture<T> run(Task<T> task) throws InterruptedException {
        slots.acquire();
        try {
            Validation validation = (key, stream, size) -> validator.validate(key, stream, size, limits);
            return CompletableFuture.supplyAsync(() -> {
                try {
                    return task.run(validation);
                } finally {
                    slots.release();
                }
            }, workers);
        } catch (RuntimeException e) {
            slots.release(); // the executor refused the task (closed)
            throw e;
        }
    }

    /** Stops taking work; running validations finish. */
    @Override
    public void close() {
        workers.shutdown();
    }
}
