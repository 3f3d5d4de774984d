package dev.kiln.ingestion.storage;

import dev.kiln.ingestion.IngestionConfig;
import dev.kiln.ingestion.pipeline.BatchLoop;
import dev.kiln.service.storage.S3Storage;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.time.Duration;
import java.util.Map;

/**
 * Consumes {@code kiln.storage.events} (MinIO notifications or the bucket scanner's) and
 * {@code kiln.images.captioned} with the {@link BatchLoop} on its own thread: each object under {@code datasets/}
 * ends accepted, rejected, attached as a caption or ignored; job files are submitted and planned.
 *
 * <p>A plain Kafka consumer and a transactional producer rather than SmallRye channels: the outcome events of a
 * batch and its consumer offsets commit together, which is what makes a restart mid-batch lose and duplicate
 * nothing. Every {@code kafka.*} setting (TLS, SASL) applies to both clients.
 */
@ApplicationScoped
public class StorageEventConsumer {
    private static final Logger LOG = Logger.getLogger(StorageEventConsumer.class);
    private static final Duration STOP_WAIT = Duration.ofSeconds(30);

    private final Map<String, Object> kafkaConfig;
    private final IngestionConfig config;
    private final S3Storage storage;
    private final RecentStorageEvents recent;
    private final MeterRegistry registry;
    private BatchLoop loop;
    private Thread thread;

    @Inject
    public StorageEventConsumer(@Identifier("default-kafka-broker") Map<String, Object> kafkaConfig,
                                IngestionConfig config, S3Storage storage, RecentStorageEvents recent,
                                MeterRegistry registry) {
        this.kafkaConfig = kafkaConfig;
        this.config = config;
        this.storage = storage;
        this.recent = recent;
        this.registry = registry;
    }

    void onStart(@Observes StartupEvent event) {
        if (config.enabled()) {
            start();
        } else {
            LOG.info("ingestion pipeline disabled (kiln.ingestion.enabled=false)");
        }
    }

    void onStop(@Observes ShutdownEvent event) {
        stop();
    }

    /** Starts a fresh pipeline: indexes and job states are read again from the bucket. */
    public synchronized void start() {
        if (thread != null && thread.isAlive()) {
            return;
        }
        loop = new BatchLoop(kafkaConfig, config, storage, recent, registry);
        thread = new Thread(loop, "kiln-ingestion-pipeline");
        thread.setDaemon(true);
        thread.start();
        LOG.infof("ingestion pipeline consuming kiln.storage.events and kiln.images.captioned (bucket %s)",
                storage.bucket());
    }

    /** Stops the pipeline after its current batch (or abandons the batch, uncommitted, when stopping mid-way). */
    public synchronized void stop() {
        if (loop != null) {
            loop.stop();
        }
        awaitEnd();
    }

    /** Test hook: ends the pipeline after the next batch saved its index, before its transaction commits. */
    public synchronized void crashAfterNextIndexSave() {
        if (loop != null) {
            loop.abandonNextBatchAfterSave();
        }
    }

    /** Waits until the pipeline thread has ended (after {@link #stop} or a simulated crash). */
    public synchronized boolean awaitEnd() {
        if (thread == null) {
            return true;
        }
        try {
            thread.join(STOP_WAIT.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return !thread.isAlive();
    }

    /** True while the pipeline thread runs. */
    public synchronized boolean isRunning() {
        return thread != null && thread.isAlive();
    }

    /** The running pipeline (its index and job tracker), or null before the first start. */
    public synchronized BatchLoop pipeline() {
        return loop;
    }
}
