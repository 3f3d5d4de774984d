package dev.kiln.latentcache.job;

import dev.kiln.latentcache.LatentCacheConfig;
import dev.kiln.model.events.JobPlanned;
import dev.kiln.model.json.Json;
import dev.kiln.model.topics.Topics;
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
 * Reads {@code kiln.jobs.planned} one record at a time (group {@code kiln.latent-cache.jobs-group-id}) and owns that
 * job until its latents are cached ({@link JobCaching}); the partitions stay paused meanwhile and the record is
 * committed when the job has its {@code kiln.latents.cached} or its {@code failed} event. Stopped in the middle, the
 * record stays uncommitted and the next owner continues the job.
 */
@ApplicationScoped
public class JobConsumer {
    private static final Logger LOG = Logger.getLogger(JobConsumer.class);

    private final JobCaching caching;
    private final LatentCacheConfig config;
    private PausingConsumerLoop loop;

    @Inject
    public JobConsumer(JobCaching caching, LatentCacheConfig config) {
        this.caching = caching;
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
        if (loop != null && loop.running()) {
            return;
        }
        caching.reset();
        loop = new PausingConsumerLoop("kiln-latent-cache-jobs", PausingConsumerLoop.properties(config.jobsGroupId(), 1),
                List.of(Topics.JOBS_PLANNED), this::handle, config.stopTimeout(), caching::abandon);
        loop.start();
    }

    /** Stops the job in hand (left uncommitted for the next owner), then the consumer. */
    public synchronized void stop() {
        if (loop == null) {
            return;
        }
        caching.stop();
        loop.stop();
        loop = null;
    }

    private PausingConsumerLoop.Outcome handle(List<ConsumerRecord<String, String>> records) {
        PausingConsumerLoop.Outcome outcome = PausingConsumerLoop.Outcome.COMMIT;
        for (ConsumerRecord<String, String> record : records) {
            JobPlanned planned;
            try {
                planned = Json.read(record.value(), JobPlanned.class);
            } catch (IllegalArgumentException e) {
                LOG.warnf("jobs.planned record %s-%d@%d ignored: %s", record.topic(), record.partition(),
                        record.offset(), e.getMessage());
                continue;
            }
            if (caching.run(planned) == PausingConsumerLoop.Outcome.REDELIVER) {
                outcome = PausingConsumerLoop.Outcome.REDELIVER;
            }
        }
        return outcome;
    }
}
