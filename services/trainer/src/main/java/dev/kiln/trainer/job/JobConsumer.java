package dev.kiln.trainer.job;

import dev.kiln.model.events.LatentsCached;
import dev.kiln.model.json.Json;
import dev.kiln.model.topics.Topics;
import dev.kiln.trainer.TrainerConfig;
import dev.kiln.worker.kafka.PausingConsumerLoop;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.jboss.logging.Logger;

/**
 * Reads {@code kiln.latents.cached} one record at a time and trains that job on a thread of its own
 * ({@link PausingConsumerLoop}: the partitions stay paused while the job runs, so a job of hours keeps this instance in
 * the consumer group); the record's offset is committed when the job has ended. A trainer that stops gracefully saves
 * a state and leaves the record uncommitted: the next consumer of the partition resumes the job.
 */
@ApplicationScoped
public class JobConsumer {
    private static final Logger LOG = Logger.getLogger(JobConsumer.class);

    private final JobRunner runner;
    private final TrainerConfig config;
    private PausingConsumerLoop loop;

    @Inject
    public JobConsumer(JobRunner runner, TrainerConfig config) {
        this.runner = runner;
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

    /** Starts consuming (once). */
    public synchronized void start() {
        if (loop != null && loop.running()) {
            return;
        }
        runner.reset();
        loop = new PausingConsumerLoop("kiln-trainer-jobs", PausingConsumerLoop.properties(config.groupId(), 1),
                List.of(Topics.LATENTS_CACHED), records -> train(records.get(0)), config.stopTimeout());
        loop.start();
    }

    /** Stops the running job after its current step (state saved), then the consumer, without committing it. */
    public synchronized void stop() {
        if (loop == null) {
            return;
        }
        runner.stop();
        loop.stop();
    }

    private PausingConsumerLoop.Outcome train(ConsumerRecord<String, String> record) {
        LatentsCached cached;
        try {
            cached = Json.read(record.value(), LatentsCached.class);
        } catch (IllegalArgumentException e) {
            LOG.warnf("latents.cached record %s-%d@%d ignored: %s", record.topic(), record.partition(),
                    record.offset(), e.getMessage());
            return PausingConsumerLoop.Outcome.COMMIT;
        }
        LOG.infof("job %s: latents cached (%d hits, %d misses); training", cached.jobId(), cached.hits(),
                cached.misses());
        try {
            return runner.run(cached.jobId()) == JobRunner.Outcome.STOPPED ? PausingConsumerLoop.Outcome.REDELIVER
                    : PausingConsumerLoop.Outcome.COMMIT;
        } catch (RuntimeException | Error e) {
            // the failure could not even be reported (S3 or Kafka down): do not retry in a hot loop
            LOG.errorf(e, "job %s: %s", cached.jobId(), e.getMessage());
            return PausingConsumerLoop.Outcome.COMMIT;
        }
    }
}
