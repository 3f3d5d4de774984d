package dev.kiln.model.topics;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Names and recommended settings of every Kafka topic of the Kiln contract (ARCHITECTURE §3).
 *
 * <p>Topics keyed by object or dataset carry many records per second during an upload, so they get more
 * partitions; job-keyed topics carry few records and need ordering per job only.
 */
public final class Topics {

    /** MinIO bucket notifications (or the bucket scanner's equivalents); key {@code bucket/key}. */
    public static final String STORAGE_EVENTS = "kiln.storage.events";
    /** Validated training / regularization images; key = dataset. */
    public static final String IMAGES_ACCEPTED = "kiln.images.accepted";
    /** Objects under {@code datasets/} that cannot be used, with a reason code; key = dataset. */
    public static final String IMAGES_REJECTED = "kiln.images.rejected";
    /** Captions attached to images; key = dataset. */
    public static final String IMAGES_CAPTIONED = "kiln.images.captioned";
    /** A {@code jobs/<job>/job.toml} was uploaded and parsed; key = job. */
    public static final String JOBS_SUBMITTED = "kiln.jobs.submitted";
    /** A job's plan ({@code outputs/<job>/plan.json}) is written; key = job. */
    public static final String JOBS_PLANNED = "kiln.jobs.planned";
    /**
     * One image's missing latents (each bucket size and flip) for the latent-cache workers; key = image sha256, so
     * the same image of concurrent jobs lands on the same partition.
     */
    public static final String LATENTS_TASKS = "kiln.latents.tasks";
    /** Every latent of a plan is cached; key = job. */
    public static final String LATENTS_CACHED = "kiln.latents.cached";
    /** User commands to a running training (cancel, save-now, sample-now); key = job. */
    public static final String TRAINING_CONTROL = "kiln.training.control";
    /** Sample images wanted from a checkpoint; key = job. */
    public static final String SAMPLES_REQUESTED = "kiln.samples.requested";
    /** Progress of every stage of a job; key = job. */
    public static final String TRAINING_PROGRESS = "kiln.training.progress";

    /** Version suffix of every CloudEvent type: {@code ce_type} is {@code <topic>.v1}. */
    public static final String CE_TYPE_VERSION = ".v1";

    private static final String KEY_OBJECT = "bucket/key";
    private static final String KEY_DATASET = "dataset";
    private static final String KEY_JOB = "job id";
    private static final String KEY_IMAGE = "image sha256";

    /** Every topic, in pipeline order. */
    public static final List<TopicSpec> SPECS = List.of(
            spec(STORAGE_EVENTS, 6, KEY_OBJECT),
            spec(IMAGES_ACCEPTED, 6, KEY_DATASET),
            spec(IMAGES_REJECTED, 6, KEY_DATASET),
            spec(IMAGES_CAPTIONED, 6, KEY_DATASET),
            spec(JOBS_SUBMITTED, 3, KEY_JOB),
            spec(JOBS_PLANNED, 3, KEY_JOB),
            spec(LATENTS_TASKS, 6, KEY_IMAGE),
            spec(LATENTS_CACHED, 3, KEY_JOB),
            spec(TRAINING_CONTROL, 3, KEY_JOB),
            spec(SAMPLES_REQUESTED, 3, KEY_JOB),
            spec(TRAINING_PROGRESS, 3, KEY_JOB));

    /** Every topic name, in pipeline order. */
    public static final List<String> ALL = SPECS.stream().map(TopicSpec::name).toList();

    private static final Map<String, TopicSpec> BY_NAME =
            SPECS.stream().collect(Collectors.toUnmodifiableMap(TopicSpec::name, Function.identity()));
    private static final Map<String, TopicSpec> BY_CE_TYPE =
            SPECS.stream().collect(Collectors.toUnmodifiableMap(TopicSpec::ceType, Function.identity()));

    private Topics() {
    }

    private static TopicSpec spec(String name, int partitions, String recordKey) {
        return new TopicSpec(name, partitions, false, recordKey, ceTypeOf(name));
    }

    /** The {@code ce_type} of records on {@code topic}: {@code kiln.images.accepted} -> {@code kiln.images.accepted.v1}. */
    public static String ceTypeOf(String topic) {
        return topic + CE_TYPE_VERSION;
    }

    /** The spec of a topic, by name. */
    public static Optional<TopicSpec> byName(String topic) {
        return Optional.ofNullable(BY_NAME.get(topic));
    }

    /** The spec of the topic whose records carry {@code ceType}. */
    public static Optional<TopicSpec> byCeType(String ceType) {
        return Optional.ofNullable(BY_CE_TYPE.get(ceType));
    }

    /** The spec of a topic given either its name or its {@code ce_type}; empty when neither matches. */
    public static Optional<TopicSpec> byNameOrCeType(String topicOrType) {
        return byName(topicOrType).or(() -> byCeType(topicOrType));
    }
}
