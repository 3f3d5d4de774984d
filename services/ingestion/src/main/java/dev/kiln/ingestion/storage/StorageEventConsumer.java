package dev.kiln.ingestion.storage;

import dev.kiln.model.events.ImageRejected;
import dev.kiln.model.events.RejectionReason;
import dev.kiln.model.json.Json;
import dev.kiln.model.keys.ObjectKeys;
import dev.kiln.model.notify.S3EventNotification;
import dev.kiln.service.messaging.KilnMessages;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.MutinyEmitter;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;

/**
 * Reads {@code kiln.storage.events} (MinIO notifications or the bucket scanner's) and records each one:
 * a structured log line, a {@code kiln.storage.events.received} counter per kind, and {@link RecentStorageEvents}.
 *
 * <p>A created object whose key is unsafe ({@code ..} segments, control characters, ...) is never used:
 * it gets a {@code kiln.images.rejected} event with reason {@code unsafe-key}, acknowledged before the
 * storage event is. A malformed notification is logged and counted as {@code invalid}, then skipped, so
 * one bad record cannot stop the stream. Image validation proper comes later (issue 4).
 */
@ApplicationScoped
public class StorageEventConsumer {
    private static final Logger LOG = Logger.getLogger(StorageEventConsumer.class);
    static final String COUNTER = "kiln.storage.events.received";

    private final MutinyEmitter<String> rejections;
    private final RecentStorageEvents recent;
    private final MeterRegistry registry;

    @Inject
    public StorageEventConsumer(@Channel("images-rejected") MutinyEmitter<String> rejections,
                                RecentStorageEvents recent, MeterRegistry registry) {
        this.rejections = rejections;
        this.recent = recent;
        this.registry = registry;
    }

    @Incoming("storage-events")
    public Uni<Void> consume(String body) {
        S3EventNotification event;
        String key;
        try {
            if (body == null || body.isBlank()) {
                throw new IllegalArgumentException("empty record");
            }
            event = Json.read(body, S3EventNotification.class);
            key = event.objectKey();
        } catch (IllegalArgumentException e) {
            LOG.warnf("storage event ignored: invalid notification: %s", printable(e.getMessage()));
            record(new ReceivedStorageEvent("invalid", null, null, null, null, 0, "ignored: " + e.getMessage()));
            return Uni.createFrom().voidItem();
        }
        String kind = event.isCreated() ? "created" : event.isRemoved() ? "removed" : "other";
        String problem = ObjectKeys.problem(key);
        if (problem != null && event.isCreated()) {
            record(received(kind, event, key, "rejected: " + RejectionReason.UNSAFE_KEY.wire()));
            ImageRejected rejected = new ImageRejected(key, null, RejectionReason.UNSAFE_KEY,
                    "object key '" + printable(key) + "' is unsafe (" + problem + "): rename the object",
                    event.eTag());
            // the Kafka key is the dataset, which an unsafe key does not name reliably
            return rejections.sendMessage(KilnMessages.cloudEvent(Json.write(rejected), null, key));
        }
        record(received(kind, event, key, problem == null ? "recorded" : "ignored: unsafe key"));
        return Uni.createFrom().voidItem();
    }

    private static ReceivedStorageEvent received(String kind, S3EventNotification event, String key, String outcome) {
        return new ReceivedStorageEvent(kind, event.name(), event.bucket(), key, event.eTag(), event.size(), outcome);
    }

    private void record(ReceivedStorageEvent event) {
        registry.counter(COUNTER, "kind", event.kind()).increment();
        recent.add(event);
        if (event.key() != null) {
            LOG.infof("storage event kind=%s name=%s bucket=%s key=\"%s\" etag=%s size=%d outcome=\"%s\"",
                    event.kind(), event.eventName(), event.bucket(), printable(event.key()), event.eTag(),
                    event.size(), event.outcome());
        }
    }

    /** Control characters escaped, so a hostile key cannot forge log lines. */
    static String printable(String text) {
        if (text == null) {
            return "";
        }
        StringBuilder out = new StringBuilder(text.length());
        text.codePoints().forEach(cp -> {
            if (Character.isISOControl(cp) || cp == '"') {
                out.append(String.format("\\u%04X", cp));
            } else {
                out.appendCodePoint(cp);
            }
        });
        return out.toString();
    }
}
