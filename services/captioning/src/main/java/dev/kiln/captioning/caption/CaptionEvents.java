package dev.kiln.captioning.caption;

import dev.kiln.model.events.ImageCaptioned;
import dev.kiln.model.events.Stage;
import dev.kiln.model.events.TrainingProgress;
import dev.kiln.model.json.Json;
import dev.kiln.service.messaging.KilnMessages;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.MutinyEmitter;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.jboss.logging.Logger;

/**
 * Publishes {@code kiln.images.captioned} (key = dataset, subject = image key) and the captioning service's
 * {@code failed} progress events (key and subject = job id), waiting for Kafka's acknowledgement so a consumed
 * record is committed only after what it caused is stored.
 */
@ApplicationScoped
public class CaptionEvents {
    private static final Logger LOG = Logger.getLogger(CaptionEvents.class);
    private static final Duration ACK_TIMEOUT = Duration.ofSeconds(60);
    /** Below the emitter's buffer, so a large job never overflows it. */
    private static final int IN_FLIGHT = 128;

    private final MutinyEmitter<String> captioned;
    private final MutinyEmitter<String> progress;
    private final MeterRegistry registry;

    @Inject
    public CaptionEvents(@Channel("images-captioned") MutinyEmitter<String> captioned,
                         @Channel("training-progress") MutinyEmitter<String> progress, MeterRegistry registry) {
        this.captioned = captioned;
        this.progress = progress;
        this.registry = registry;
    }

    /** Publishes the events in order and waits until Kafka has them all. */
    public void publish(List<ImageCaptioned> events) {
        for (int from = 0; from < events.size(); from += IN_FLIGHT) {
            List<Uni<Void>> acks = new ArrayList<>();
            for (ImageCaptioned event : events.subList(from, Math.min(events.size(), from + IN_FLIGHT))) {
                acks.add(captioned.sendMessage(KilnMessages.cloudEvent(Json.write(event), event.dataset(), event.key())));
                registry.counter("kiln.captioning.captions", "source", event.source().wire()).increment();
                LOG.debugf("captioned %s from %s: %s", event.key(), event.source().wire(), event.caption());
            }
            Uni.join().all(acks).andFailFast().await().atMost(ACK_TIMEOUT);
        }
    }

    /** A {@code failed} progress event for {@code jobId} (stage {@code ingestion}: the job's dataset intake). */
    public void jobFailed(String jobId, String message) {
        TrainingProgress event = TrainingProgress.failed(jobId, Stage.INGESTION, message, Instant.now());
        progress.sendMessage(KilnMessages.cloudEvent(Json.write(event), jobId, jobId)).await().atMost(ACK_TIMEOUT);
    }
}
