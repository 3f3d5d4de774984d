package dev.kiln.latentcache.messaging;

import dev.kiln.model.events.LatentTask;
import dev.kiln.model.events.LatentsCached;
import dev.kiln.model.events.TrainingProgress;
import dev.kiln.model.json.Json;
import dev.kiln.service.messaging.KilnMessages;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.MutinyEmitter;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.eclipse.microprofile.reactive.messaging.Channel;

/**
 * What the service publishes, each as a binary CloudEvent and acknowledged by Kafka before the call returns:
 * progress and {@code kiln.latents.cached} (key and subject = job id), tasks (key = image sha256, subject = image key).
 */
@ApplicationScoped
public class Events {
    private static final Duration ACK_TIMEOUT = Duration.ofSeconds(30);

    private final MutinyEmitter<String> progress;
    private final MutinyEmitter<String> cached;
    private final MutinyEmitter<String> tasks;

    @Inject
    public Events(@Channel("training-progress") MutinyEmitter<String> progress,
                  @Channel("latents-cached") MutinyEmitter<String> cached,
                  @Channel("latents-tasks") MutinyEmitter<String> tasks) {
        this.progress = progress;
        this.cached = cached;
        this.tasks = tasks;
    }

    public void progress(TrainingProgress event) {
        progress.sendMessage(KilnMessages.cloudEvent(Json.write(event), event.jobId(), event.jobId()))
                .await().atMost(ACK_TIMEOUT);
    }

    public void cached(LatentsCached event) {
        cached.sendMessage(KilnMessages.cloudEvent(Json.write(event), event.jobId(), event.jobId()))
                .await().atMost(ACK_TIMEOUT);
    }

    /** Sends every task, then waits until Kafka acknowledged all of them. */
    public void tasks(List<LatentTask> all) {
        List<Uni<Void>> acks = new ArrayList<>(all.size());
        for (LatentTask task : all) {
            acks.add(tasks.sendMessage(KilnMessages.cloudEvent(Json.write(task), task.imageSha256(), task.imageKey())));
        }
        if (!acks.isEmpty()) {
            // a MutinyEmitter sends on subscription: join subscribes to all at once, then waits for every ack
            Uni.join().all(acks).andFailFast().await().atMost(ACK_TIMEOUT.multipliedBy(1 + all.size() / 1000));
        }
    }
}
