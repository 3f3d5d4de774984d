package dev.kiln.trainer.progress;

import dev.kiln.model.events.TrainingProgress;
import dev.kiln.model.json.Json;
import dev.kiln.service.messaging.KilnMessages;
import io.smallrye.reactive.messaging.MutinyEmitter;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import org.eclipse.microprofile.reactive.messaging.Channel;

/** Publishes progress events on {@code kiln.training.progress} (key and subject = job id), each acknowledged. */
@ApplicationScoped
public class ProgressEvents {
    private static final Duration ACK_TIMEOUT = Duration.ofSeconds(30);

    private final MutinyEmitter<String> progress;

    @Inject
    public ProgressEvents(@Channel("training-progress") MutinyEmitter<String> progress) {
        this.progress = progress;
    }

    /** Sends one event and waits for Kafka to acknowledge it, so events of a job keep their order. */
    public void send(TrainingProgress event) {
        progress.sendMessage(KilnMessages.cloudEvent(Json.write(event), event.jobId(), event.jobId()))
                .await().atMost(ACK_TIMEOUT);
    }
}
