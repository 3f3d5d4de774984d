package dev.kiln.model.topics;

import java.util.Objects;

/**
 * One Kafka topic of the Kiln contract (ARCHITECTURE §3) with the settings it should be created with.
 *
 * @param name       topic name, e.g. {@code kiln.images.accepted}
 * @param partitions recommended partition count
 * @param compacted  whether {@code cleanup.policy=compact} (no Kiln topic is: every record is a fact that
 *                   replays and audits need, and the keys (dataset, job) are shared by many records)
 * @param recordKey  what the Kafka record key holds (ordering is per key)
 * @param ceType     the CloudEvents {@code ce_type} of the records on this topic
 */
public record TopicSpec(String name, int partitions, boolean compacted, String recordKey, String ceType) {

    public TopicSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(recordKey, "recordKey");
        Objects.requireNonNull(ceType, "ceType");
        if (partitions < 1) {
            throw new IllegalArgumentException("topic " + name + ": partitions must be >= 1, got " + partitions);
        }
    }

    /** The {@code cleanup.policy} topic config value. */
    public String cleanupPolicy() {
        return compacted ? "compact" : "delete";
    }
}
