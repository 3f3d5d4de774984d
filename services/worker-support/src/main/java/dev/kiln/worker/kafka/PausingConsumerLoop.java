package dev.kiln.worker.kafka;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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
 * A plain Kafka consumer whose records are handled on a thread of their own, for work that takes longer than a poll
 * interval (encoding, training). While a batch is handled every assigned partition is paused and the loop keeps
 * polling (which returns nothing), so the instance stays in its group however long the work takes; the batch's
 * offsets are committed when the work says so, or the partitions are rewound to the batch so it is handled again
 * (a stop in the middle: the next consumer of the partition, this one after a restart or another, gets it).
 * The same loop as the trainer's {@code JobConsumer}, generalized.
 */
public final class PausingConsumerLoop {
    private static final Logger LOG = Logger.getLogger(PausingConsumerLoop.class);
    private static final Duration POLL = Duration.ofMillis(200);
    /** While paused: short polls, so a finished batch is committed and the next one fetched promptly. */
    private static final Duration PAUSED_POLL = Duration.ofMillis(20);

    /** What to do with a handled batch. */
    public enum Outcome {
        /** Done: commit the batch's offsets. */
        COMMIT,
        /** Not done (stopping): leave it uncommitted and rewind, so it is delivered again. */
        REDELIVER
    }

    /** Handles one polled batch on the work thread. An exception is logged and the batch committed (no hot loop). */
    @FunctionalInterface
    public interface Work {
        Outcome handle(List<ConsumerRecord<String, String>> records) throws Exception;
    }

    private final String name;
    private final Properties properties;
    private final Collection<String> topics;
    private final Work work;
    private final Duration stopTimeout;
    private final Runnable revoked;
    private volatile boolean running;
    private volatile boolean busy;
    private Thread loop;

    /**
     * @param name        thread names ({@code <name>} polls, {@code <name>-work} handles)
     * @param properties  consumer settings; see {@link #properties(String, int)}
     * @param stopTimeout how long {@link #stop()} waits for the batch in hand
     */
    public PausingConsumerLoop(String name, Properties properties, Collection<String> topics, Work work,
                               Duration stopTimeout) {
        this(name, properties, topics, work, stopTimeout, () -> { });
    }

    /**
     * @param revoked called (on the poll thread) when a partition of the batch in hand is taken away by a rebalance:
     *                another consumer gets the batch's records again, so the work may give up and return
     *                {@link Outcome#REDELIVER}
     */
    public PausingConsumerLoop(String name, Properties properties, Collection<String> topics, Work work,
                               Duration stopTimeout, Runnable revoked) {
        this.name = name;
        this.properties = properties;
        this.topics = List.copyOf(topics);
        this.work = work;
        this.stopTimeout = stopTimeout;
        this.revoked = revoked;
    }

    /**
     * Consumer settings: every {@code kafka.*} property of the configuration passed through (bootstrap servers, TLS,
     * SASL), then the group, manual commits, {@code read_committed}, string keys and values, at most
     * {@code maxPollRecords} records per batch, the earliest offset for a new group, and cooperative rebalancing
     * (unless {@code kafka.partition.assignment.strategy} says otherwise).
     */
    public static Properties properties(String groupId, int maxPollRecords) {
        Properties props = new Properties();
        Config settings = ConfigProvider.getConfig();
        Map<String, String> passed = new HashMap<>();
        for (String property : settings.getPropertyNames()) {
            if (property.startsWith("kafka.") && !property.startsWith("kafka.devservices")) {
                settings.getOptionalValue(property, String.class).ifPresent(v -> passed.put(property.substring(6), v));
            }
        }
        props.putAll(passed);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, String.valueOf(Math.max(1, maxPollRecords)));
        // a rebalance takes away only the partitions that move: an instance joining does not interrupt the others' work
        props.putIfAbsent(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG,
                "org.apache.kafka.clients.consumer.CooperativeStickyAssignor");
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        return props;
    }

    /** Starts polling (once). */
    public synchronized void start() {
        if (running) {
            return;
        }
        running = true;
        loop = new Thread(this::loop, name);
        loop.start();
    }

    /**
     * Stops polling: waits up to the stop timeout for the batch in hand (the work should notice its own stop signal
     * and return {@link Outcome#REDELIVER}), then closes the consumer.
     */
    public synchronized void stop() {
        if (!running) {
            return;
        }
        running = false;
        try {
            loop.join(stopTimeout.toMillis() + 5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (loop.isAlive()) {
            LOG.warnf("%s did not stop within %s", name, stopTimeout);
        }
    }

    public boolean running() {
        return running;
    }

    /** True while a batch is being handled. */
    public boolean busy() {
        return busy;
    }

    private void loop() {
        ExecutorService worker = Executors.newSingleThreadExecutor(r -> new Thread(r, name + "-work"));
        try (KafkaConsumer<String, String> kafka = new KafkaConsumer<>(properties)) {
            Batch batch = new Batch(kafka);
            kafka.subscribe(topics, batch);
            while (running) {
                if (batch.future == null) {
                    ConsumerRecords<String, String> records = kafka.poll(POLL);
                    if (!records.isEmpty()) {
                        batch.begin(records, worker);
                    }
                    continue;
                }
                kafka.poll(PAUSED_POLL); // paused: keeps the membership alive
                if (batch.future.isDone()) {
                    batch.finish(true);
                }
            }
            if (batch.future != null) {
                try {
                    batch.future.get(stopTimeout.toMillis(), TimeUnit.MILLISECONDS);
                    batch.finish(false);
                } catch (TimeoutException e) {
                    LOG.warnf("%s: the batch in hand did not end within %s; left uncommitted", name, stopTimeout);
                } catch (ExecutionException e) {
                    batch.finish(false);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.errorf(e, "%s stopped: %s", name, e.getMessage());
        } finally {
            worker.shutdownNow();
            busy = false;
        }
    }

    /** The batch in hand and the pausing that holds further records back meanwhile. */
    private final class Batch implements ConsumerRebalanceListener {
        private final KafkaConsumer<String, String> kafka;
        Future<Outcome> future;
        List<ConsumerRecord<String, String>> records;

        Batch(KafkaConsumer<String, String> kafka) {
            this.kafka = kafka;
        }

        void begin(ConsumerRecords<String, String> polled, ExecutorService worker) {
            records = new ArrayList<>();
            polled.forEach(records::add);
            kafka.pause(kafka.assignment());
            busy = true;
            List<ConsumerRecord<String, String>> handed = List.copyOf(records);
            future = worker.submit(() -> work.handle(handed));
        }

        void finish(boolean resume) throws InterruptedException {
            Outcome outcome;
            try {
                outcome = future.get();
            } catch (ExecutionException e) {
                LOG.errorf(e.getCause(), "%s: a batch failed (%s); committed so it is not retried in a loop", name,
                        e.getCause().getMessage());
                outcome = Outcome.COMMIT;
            }
            Map<TopicPartition, Long> first = new HashMap<>();
            Map<TopicPartition, OffsetAndMetadata> next = new HashMap<>();
            for (ConsumerRecord<String, String> r : records) {
                TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                first.merge(tp, r.offset(), Math::min);
                next.merge(tp, new OffsetAndMetadata(r.offset() + 1), (a, b) -> a.offset() >= b.offset() ? a : b);
            }
            if (outcome == Outcome.COMMIT) {
                try {
                    kafka.commitSync(next);
                } catch (RuntimeException e) {
                    // the partition moved to another instance meanwhile: it handles the batch again (work is idempotent)
                    LOG.warnf("%s: offsets not committed: %s", name, e.getMessage());
                }
            } else {
                first.forEach((tp, offset) -> {
                    if (kafka.assignment().contains(tp)) {
                        kafka.seek(tp, offset);
                    }
                });
            }
            future = null;
            records = null;
            busy = false;
            if (resume) {
                kafka.resume(kafka.assignment());
            }
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            if (future != null) {
                kafka.pause(partitions);
            }
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            if (future != null && records != null && records.stream()
                    .anyMatch(r -> partitions.contains(new TopicPartition(r.topic(), r.partition())))) {
                LOG.infof("%s: a partition of the batch in hand was revoked", name);
                revoked.run();
            }
        }
    }
}
