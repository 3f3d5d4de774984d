package dev.kiln.ingestion.scanner;

import dev.kiln.model.json.Json;
import dev.kiln.model.notify.S3EventNotification;
import dev.kiln.service.messaging.KilnMessages;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.MutinyEmitter;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.reactive.messaging.Channel;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Publishes scanner events to {@code kiln.storage.events} (channel {@code storage-events-out}): the body is
 * MinIO's notification JSON, the Kafka key {@code bucket/key} as MinIO's Kafka target sets it, plus
 * binary CloudEvent headers (type {@code kiln.storage.events.v1}, source {@code /kiln/scanner}).
 */
@ApplicationScoped
public class KafkaStorageEventPublisher implements StorageEventPublisher {
    /** Events in flight at once: below the emitter's buffer, so a large first scan never overflows it. */
    private static final int BATCH = 128;
    private static final Duration ACK_TIMEOUT = Duration.ofSeconds(60);

    private final MutinyEmitter<String> emitter;

    @Inject
    public KafkaStorageEventPublisher(@Channel("storage-events-out") MutinyEmitter<String> emitter) {
        this.emitter = emitter;
    }

    @Override
    public void publishAll(List<S3EventNotification> events) {
        for (int from = 0; from < events.size(); from += BATCH) {
            List<Uni<Void>> acks = new ArrayList<>();
            for (S3EventNotification event : events.subList(from, Math.min(events.size(), from + BATCH))) {
                acks.add(emitter.sendMessage(KilnMessages.cloudEvent(Json.write(event), event.key(), event.objectKey())));
            }
            Uni.join().all(acks).andFailFast().await().atMost(ACK_TIMEOUT);
        }
    }
}
