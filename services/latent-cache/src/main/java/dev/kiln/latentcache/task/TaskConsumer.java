package dev.kiln.latentcache.task;

import dev.kiln.latentcache.LatentCacheConfig;
import dev.kiln.model.topics.Topics;
import dev.kiln.worker.kafka.PausingConsumerLoop;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;

/**
 * The workers: {@code kiln.latent-cache.workers} consumers of {@code kiln.latents.tasks} in one group
 * ({@code tasks-group-id}) across every instance, each encoding its batch off the poll thread with its partitions
 * paused ({@link TaskWorker}), committed when the batch is encoded and uploaded.
 */
@ApplicationScoped
public class TaskConsumer {

    private final TaskWorker worker;
    private final LatentCacheConfig config;
    private final List<PausingConsumerLoop> loops = new ArrayList<>();

    @Inject
    public TaskConsumer(TaskWorker worker, LatentCacheConfig config) {
        this.worker = worker;
        this.config = config;
    }

    void onStart(@Observes StartupEvent event) {
        if (config.enabled()) {
            start();
        }
    }

    void onStop(@Observes ShutdownEvent event) {
        stop();
    }

    public synchronized void start() {
        if (!loops.isEmpty()) {
            return;
        }
        worker.reset();
        for (int i = 0; i < Math.max(1, config.workers()); i++) {
            PausingConsumerLoop loop = new PausingConsumerLoop("kiln-latent-cache-worker-" + i,
                    PausingConsumerLoop.properties(config.tasksGroupId(), config.taskBatch()),
                    List.of(Topics.LATENTS_TASKS), worker::handle, config.stopTimeout());
            loops.add(loop);
            loop.start();
        }
    }

    public synchronized void stop() {
        worker.stop();
        loops.forEach(PausingConsumerLoop::stop);
        loops.clear();
    }
}
