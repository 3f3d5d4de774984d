package dev.kiln.sampler.request;

import dev.kiln.model.events.ProgressType;
import dev.kiln.model.events.Stage;
import dev.kiln.model.events.TrainingProgress;
import dev.kiln.model.json.Json;
import dev.kiln.service.messaging.KilnMessages;
import io.smallrye.reactive.messaging.MutinyEmitter;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import org.eclipse.microprofile.reactive.messaging.Channel;

/**
 * Publishes {@code sample} progress events on {@code kiln.training.progress} (key and subject = job id, stage
 * {@code sampling}), one per stored image, and waits for Kafka's acknowledgement so a request is committed only
 * after its events are stored.
 */
@ApplicationScoped
public class SampleEvents {
    private static final Duration ACK_TIMEOUT = Duration.ofSeconds(60);

    private final MutinyEmitter<String> progress;

    @Inject
    public SampleEvents(@Channel("training-progress") MutinyEmitter<String> progress) {
        this.progress = progress;
    }

    /**
     * @param artifact {@code s3://bucket/key} of the image
     * @param message  which prompt it shows
     */
    public void sample(String jobId, long step, int epoch, String artifact, String message) {
        TrainingProgress event = new TrainingProgress(jobId, ProgressType.SAMPLE, Stage.SAMPLING, step, null, epoch,
                null, null, null, null, null, null, artifact, message, Instant.now());
        progress.sendMessage(KilnMessages.cloudEvent(Json.write(event), jobId, jobId)).await().atMost(ACK_TIMEOUT);
    }
}
