package dev.kiln.trainer.job;

import dev.kiln.model.events.LatentsCached;
import dev.kiln.model.json.Json;
import dev.kiln.model.topics.Topics;
import dev.kiln.trainer.TrainerConfig;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.eclipse.microprofile.config.Config;
import org.eclipse.microprofile.config.ConfigProvider;
import org.jboss.logging.Logger;

/**
 * Reads {@code kiln.latents.cached} one record at a time and trains that job on a thread of its own. While a job runs
 * every assigned partition is paused and the loop keeps polling (which returns nothing), so a job of hours keeps this
 * instance in the consumer group; the record's offset is committed when the job has ended. A trainer that stops
 * gracefully saves a state and leaves the record uncommitted: the next consumer of the partition resumes the job.
 */
@ApplicationScoped
public class JobConsumer {
    private static final Logger LOG = Logger.getLogger(JobConsumer.class);
    private static final Duration POLL = Duration.ofMillis(500);

    private final JobRunner runner;
    private final TrainerConfig config;
    private volatile boolean running;
    private Thread loop;

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

    /** Starts the consumer thread (once). */
    public synchronized void start() {
        if (running) {
            return;
        }
        runner.reset();
        running = true;
        loop = new Thread(this::loop, "kiln-trainer-jobs");
        loop.start();
    }

    /** Stops the running job after its current step (state saved), then the consumer, without committing it. */
    public synchronized void stop() {
        if (!running) {
            return;
        }
        running = false;
        runner.stop();
        try {
            loop.join(config.stopTimeout().toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (loop.isAlive()) {
            LOG.warnf("the job consumer did not stop within %s", config.stopTimeout());
        }
    }

    private void loop() {
        try (KafkaConsumer<String, String> kafka = new KafkaConsumer<>(properties())) {
            Busy busy = new Busy();
            kafka.subscribe(List.of(Topics.LATENTS_CACHED), busy);
            while (running) {
                if (busy.job == null) {
                    ConsumerRecords<String, String> records = kafka.poll(POLL);
                    for (ConsumerRecord<String, String> record : records) {
                        busy.begin(kafka, record); // max.poll.records=1
                    }
                    continue;
                }
                kafka.poll(POLL); // paused: keeps the membership alive
                if (busy.job.isDone()) {
                    busy.finish(kafka);
                }
            }
            if (busy.job != null) {
                // stopping: the runner saves a state and returns STOPPED; the record stays uncommitted
                try {
                    busy.job.get(config.stopTimeout().toMillis(), TimeUnit.MILLISECONDS);
                } catch (TimeoutException | ExecutionException e) {
                    LOG.warnf("job %s did not stop cleanly: %s", busy.jobId, e.getMessage());
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.errorf(e, "the job consumer stopped: %s", e.getMessage());
        }
    }

    /** The job in progress, if any, and the pausing that keeps further records back meanwhile. */
    private final class Busy implements ConsumerRebalanceListener {
        CompletableFuture<JobRunner.Outcome> job;
        ConsumerRecord<String, String> record;
        String jobId;
        private KafkaConsumer<String, String> kafka;

        void begin(KafkaConsumer<String, String> kafka, ConsumerRecord<String, String> record) {
            this.kafka = kafka;
            this.record = record;
            kafka.pause(kafka.assignment());
            LatentsCached cached;
            try {
                cached = Json.read(record.value(), LatentsCached.class);
            } catch (IllegalArgumentException e) {
                LOG.warnf("latents.cached record %s-%d@%d ignored: %s", record.topic(), record.partition(),
                        record.offset(), e.getMessage());
                job = CompletableFuture.completedFuture(JobRunner.Outcome.ENDED);
                jobId = "?";
                return;
            }
            jobId = cached.jobId();
            LOG.infof("job %s: latents cached (%d hits, %d misses); training", jobId, cached.hits(), cached.misses());
            job = CompletableFuture.supplyAsync(() -> {
                try {
                    return runner.run(cached.jobId());
                } catch (RuntimeException | Error e) {
                    // the failure could not even be reported (S3 or Kafka down): do not retry in a hot loop
                    LOG.errorf(e, "job %s: %s", cached.jobId(), e.getMessage());
                    return JobRunner.Outcome.ENDED;
                }
            }, r -> {
                Thread t = new Thread(r, "kiln-trainer-job");
                t.start();
            });
        }

        void finish(KafkaConsumer<String, String> kafka) throws InterruptedException {
            JobRunner.Outcome outcome;
            try {
                outcome = job.get();
            } catch (ExecutionException e) {
                outcome = JobRunner.Outcome.ENDED;
            }
            if (outcome == JobRunner.Outcome.ENDED) {
                TopicPartition partition = new TopicPartition(record.topic(), record.partition());
                try {
                    kafka.commitSync(Map.of(partition, new OffsetAndMetadata(record.offset() + 1)));
                } catch (RuntimeException e) {
                    // the partition moved to another instance meanwhile; it finds the job ended and skips it
                    LOG.warnf("job %s: offset not committed: %s", jobId, e.getMessage());
                }
            }
            job = null;
            record = null;
            kafka.resume(kafka.assignment());
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            if (job != null && kafka != null) {
                kafka.pause(partitions);
            }
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
        }
    }

    private Properties properties() {
        Properties props = new Properties();
        Config settings = ConfigProvider.getConfig();
        Map<String, String> passed = new HashMap<>();
        for (String name : settings.getPropertyNames()) {
            // kafka.* (bootstrap servers, TLS, SASL) pass through, as to every Kiln Kafka client
            if (name.startsWith("kafka.") && !name.startsWith("kafka.devservices")) {
                settings.getOptionalValue(name, String.class).ifPresent(v -> passed.put(name.substring(6), v));
            }
        }
        props.putAll(passed);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, config.groupId());
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "1");
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        return props;
    }
}
