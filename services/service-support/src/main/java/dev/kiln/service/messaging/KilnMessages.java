package dev.kiln.service.messaging;

import io.smallrye.reactive.messaging.ce.OutgoingCloudEventMetadata;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.eclipse.microprofile.reactive.messaging.Metadata;

/**
 * Outgoing messages for Kiln topics.
 *
 * <p>A channel configured with {@code cloud-events-mode=binary}, {@code cloud-events-type=kiln.<event>.v1}
 * and {@code cloud-events-source} turns each message into a binary-mode CloudEvent: the connector adds
 * {@code ce_specversion}, a fresh {@code ce_id}, {@code ce_type}, {@code ce_source} and {@code ce_time};
 * this class adds the Kafka key and {@code ce_subject}.
 */
public final class KilnMessages {
    private KilnMessages() {
    }

    /** A CloudEvent message with Kafka key {@code key} and {@code ce_subject} {@code subject}. */
    public static <T> Message<T> cloudEvent(T payload, String key, String subject) {
        return Message.of(payload, Metadata.of(
                OutgoingKafkaRecordMetadata.<String>builder().withKey(key).build(),
                OutgoingCloudEventMetadata.builder().withSubject(subject).build()));
    }

    /** A plain record (no CloudEvent headers) with Kafka key {@code key}, for formats owned by others (MinIO). */
    public static <T> Message<T> keyed(T payload, String key) {
        return Message.of(payload, Metadata.of(OutgoingKafkaRecordMetadata.<String>builder().withKey(key).build()));
    }
}
