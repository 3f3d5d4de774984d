package dev.kiln.ingestion;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;
import java.util.List;

/** The ingestion pipeline ({@code kiln.ingestion.*}): validation limits, parallelism, captions, planning. */
@ConfigMapping(prefix = "kiln.ingestion")
public interface IngestionConfig {

    /** Consume {@code kiln.storage.events} at all (off only for tests that drive the pipeline themselves). */
    @WithDefault("true")
    boolean enabled();

    /** Images decoded at once. */
    @WithDefault("4")
    int parallelism();

    /** Images queued beyond {@link #parallelism()} before the batch loop waits. */
    @WithDefault("16")
    int backlog();

    /** Pixel limit (width x height, read from the header before decoding). */
    @WithDefault("50000000")
    long maxPixels();

    /** Byte limit per image object. */
    @WithDefault("100000000")
    long maxBytes();

    /** Caption sidecar extensions; the first one present gives {@code caption} in {@code kiln.images.accepted}. */
    @WithDefault(".txt,.caption")
    List<String> captionExtensions();

    /** Records fetched per poll: one batch, one Kafka transaction, one index save. */
    @WithDefault("500")
    int batchSize();

    /** Consumer group of the pipeline. */
    @WithDefault("kiln-ingestion")
    String groupId();

    /** Transactional id of the pipeline's producer (one ingestion instance: a second one fences the first). */
    @WithDefault("kiln-ingestion")
    String transactionalId();

    /** How long a submitted job waits for its dataset to be fully ingested before it fails. */
    @WithDefault("10m")
    Duration planTimeout();

    /** How often waiting jobs are checked when no storage events arrive. */
    @WithDefault("1s")
    Duration planCheckInterval();

    /** Largest job.toml read. */
    @WithDefault("1048576")
    int maxJobSpecBytes();
}
