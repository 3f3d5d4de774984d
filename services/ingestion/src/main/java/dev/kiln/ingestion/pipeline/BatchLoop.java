package dev.kiln.ingestion.pipeline;

import dev.kiln.ingestion.IngestionConfig;
import dev.kiln.ingestion.image.ImageLimits;
import dev.kiln.ingestion.image.ImageValidator;
import dev.kiln.ingestion.image.ValidationPool;
import dev.kiln.ingestion.index.DatasetIndex;
import dev.kiln.ingestion.index.ObjectRecord;
import dev.kiln.ingestion.jobs.JobTracker;
import dev.kiln.ingestion.storage.ReceivedStorageEvent;
import dev.kiln.ingestion.storage.RecentStorageEvents;
import dev.kiln.model.events.ImageCaptioned;
import dev.kiln.model.json.Json;
import dev.kiln.model.keys.KeyLayout;
import dev.kiln.model.notify.S3EventNotification;
import dev.kiln.model.topics.Topics;
import dev.kiln.service.storage.S3Storage;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.jboss.logging.Logger;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * The ingestion pipeline's consume-process-publish loop, on one thread: poll a batch of {@code kiln.storage.events}
 * (and {@code kiln.images.captioned}), handle its objects in parallel ({@link ValidationPool}), save the changed
 * dataset indexes and job states, then publish every outcome event and commit the batch's offsets in one Kafka
 * transaction. Afterwards, jobs whose datasets are complete are planned.
 *
 * <p>Why this order: a crash before the index save loses nothing (the batch is redelivered and handled again); a
 * crash between the save and the commit leaves index records stamped with records of the uncommitted batch, whose
 * redelivery publishes exactly the stored events again, in a new transaction (the first one never committed, so
 * {@code read_committed} consumers see each outcome once). A failed batch (S3 unreachable, ...) is rewound and
 * retried.
 */
public final class BatchLoop implements Runnable {
    private static final Logger LOG = Logger.getLogger(BatchLoop.class);
    static final String COUNTER = "kiln.storage.events.received";
    private static final Duration POLL = Duration.ofMillis(200);
    private static final Duration RETRY = Duration.ofSeconds(1);

    private final Map<String, Object> kafkaConfig;
    private final IngestionConfig config;
    private final S3Storage storage;
    private final RecentStorageEvents recent;
    private final MeterRegistry registry;
    private final DatasetIndex index;
    private final JobTracker jobs;
    private final ValidationPool pool;
    private final ObjectHandler handler;
    private volatile boolean running = true;
    private volatile boolean abandonAfterSave;
    private volatile boolean assigned;
    private KafkaConsumer<String, String> consumer;

    public BatchLoop(Map<String, Object> kafkaConfig, IngestionConfig config, S3Storage storage,
                     RecentStorageEvents recent, MeterRegistry registry) {
        this.kafkaConfig = kafkaConfig;
        this.config = config;
        this.storage = storage;
        this.recent = recent;
        this.registry = registry;
        this.index = new DatasetIndex(storage);
        this.jobs = new JobTracker(storage, index, config.planTimeout(), config.maxJobSpecBytes(), Clock.systemUTC());
        KeyLayout layout = new KeyLayout(config.captionExtensions());
        this.pool = new ValidationPool(new ImageValidator(layout), new ImageLimits(config.maxPixels(), config.maxBytes()),
                config.parallelism(), config.backlog());
        this.handler = new ObjectHandler(storage, index, pool, config.captionExtensions(), jobs);
    }

    public DatasetIndex index() {
        return index;
    }

    public JobTracker jobs() {
        return jobs;
    }

    /** Stops after the current batch is published (or abandoned, if it cannot be). */
    public void stop() {
        running = false;
        KafkaConsumer<String, String> c = consumer;
        if (c != null) {
            c.wakeup();
        }
    }

    /**
     * A crash at the worst moment, for tests: the next batch saves its index changes and publishes its events, then
     * the loop ends without committing the transaction, as if the process died there.
     */
    public void abandonNextBatchAfterSave() {
        abandonAfterSave = true;
    }

    @Override
    public void run() {
        KafkaProducer<String, String> producer = null;
        try {
            consumer = new KafkaConsumer<>(consumerConfig());
            producer = new KafkaProducer<>(producerConfig());
            producer.initTransactions(); // fences a previous instance and aborts its open transaction
            startUp();
            warmUp();
            consumer.subscribe(List.of(Topics.STORAGE_EVENTS, Topics.IMAGES_CAPTIONED), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                    // nothing to do: a batch is published and committed before the next poll
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                    assigned = true;
                }
            });
            long nextPlanCheck = 0;
            while (running) {
                ConsumerRecords<String, String> records;
                try {
                    records = consumer.poll(POLL);
                } catch (WakeupException e) {
                    break;
                }
                boolean batch = !records.isEmpty();
                if (batch && !processBatch(records, producer)) {
                    break;
                }
                if (running && (batch || System.nanoTime() >= nextPlanCheck)) {
                    planJobs(producer);
                    nextPlanCheck = System.nanoTime() + config.planCheckInterval().toNanos();
                }
            }
        } catch (ProducerFencedException e) {
            LOG.errorf("another ingestion instance took over (transactional id %s): this one stops",
                    config.transactionalId());
        } catch (RuntimeException e) {
            LOG.errorf(e, "ingestion pipeline stopped: %s", e.getMessage());
        } finally {
            pool.close();
            if (producer != null) {
                producer.close(Duration.ofSeconds(5));
            }
            if (consumer != null) {
                consumer.close(Duration.ofSeconds(5));
            }
        }
    }

    /** True once the consumer has joined its group and got its partitions (readiness). */
    public boolean isConsuming() {
        return assigned && running;
    }

    /** Loads the image readers once, so the first uploads do not wait for ImageIO's plugin scan and JIT. */
    private static void warmUp() {
        ImageValidator validator = new ImageValidator();
        for (String format : List.of("png", "jpeg")) {
            try {
                ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                ImageIO.write(new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB), format, bytes);
                validator.validate("datasets/warm-up/1_x/x." + format, new ByteArrayInputStream(bytes.toByteArray()),
                        bytes.size(), ImageLimits.DEFAULT);
            } catch (IOException | RuntimeException e) {
                LOG.debugf("decoder warm-up skipped: %s", e.getMessage());
            }
        }
    }

    /** Loads job states, retrying while S3 is not reachable yet. */
    private void startUp() {
        while (running) {
            try {
                jobs.load();
                return;
            } catch (RuntimeException e) {
                LOG.warnf("ingestion start-up: cannot read job states (%s), retrying in %s", e.getMessage(), RETRY);
                sleep(RETRY);
            }
        }
    }

    /**
     * One batch: handled, saved, published and committed; on failure the transaction is aborted and the consumer
     * rewound to the batch's first records, which the next poll reads again (records already in the index replay
     * their stored events). False when the loop must end instead.
     */
    private boolean processBatch(ConsumerRecords<String, String> records, KafkaProducer<String, String> producer) {
        boolean inTransaction = false;
        try {
            long start = System.nanoTime();
            List<OutgoingEvent> events = handle(records);
            if (!running) {
                return false; // stopping: the batch is redelivered to whoever runs next
            }
            long handled = System.nanoTime();
            index.saveDirty();
            jobs.saveDirty();
            long saved = System.nanoTime();
            producer.beginTransaction();
            inTransaction = true;
            for (OutgoingEvent event : events) {
                producer.send(event.toRecord());
            }
            if (abandonAfterSave) {
                producer.flush();
                LOG.warn("test hook: abandoning the batch after its index save, without committing");
                running = false;
                return false;
            }
            producer.sendOffsetsToTransaction(nextOffsets(records), consumer.groupMetadata());
            producer.commitTransaction();
            LOG.debugf("batch of %d record(s), %d event(s): handled in %d ms, index saved in %d ms, committed in"
                    + " %d ms", records.count(), events.size(), (handled - start) / 1_000_000,
                    (saved - handled) / 1_000_000, (System.nanoTime() - saved) / 1_000_000);
            return true;
        } catch (ProducerFencedException e) {
            throw e;
        } catch (RuntimeException e) {
            LOG.warnf("batch of %d record(s) failed, retrying in %s: %s", records.count(), RETRY, describe(e));
            if (inTransaction) {
                abort(producer);
            }
            rewind(records);
            sleep(RETRY);
            return running;
        }
    }

    /** Seeks back to the first record of the batch in each partition still assigned. */
    private void rewind(ConsumerRecords<String, String> records) {
        for (TopicPartition partition : records.partitions()) {
            if (consumer.assignment().contains(partition)) {
                consumer.seek(partition, records.records(partition).get(0).offset());
            }
        }
    }

    private void planJobs(KafkaProducer<String, String> producer) {
        try {
            List<OutgoingEvent> events = jobs.planReady().events();
            if (!events.isEmpty()) {
                producer.beginTransaction();
                try {
                    events.forEach(e -> producer.send(e.toRecord()));
                    producer.commitTransaction();
                } catch (KafkaException e) {
                    if (e instanceof ProducerFencedException) {
                        throw e;
                    }
                    abort(producer);
                    jobs.revertUnsaved(); // planned again at the next check
                    throw e;
                }
            }
            jobs.saveDirty();
        } catch (ProducerFencedException e) {
            throw e;
        } catch (RuntimeException e) {
            LOG.warnf("job planning failed, retrying: %s", describe(e));
        }
    }

    /** Handles every record of the batch; only the last event per object key counts (S3 keeps one version). */
    private List<OutgoingEvent> handle(ConsumerRecords<String, String> records) {
        Map<String, Pending> latest = new LinkedHashMap<>();
        for (ConsumerRecord<String, String> record : records) {
            String stamp = record.partition() + ":" + record.offset();
            if (record.topic().equals(Topics.IMAGES_CAPTIONED)) {
                captioned(record.value());
                continue;
            }
            S3EventNotification event = parse(record.value());
            if (event == null) {
                continue;
            }
            String key = event.objectKey();
            String kind = event.isCreated() ? "created" : event.isRemoved() ? "removed" : "other";
            if (!storage.bucket().equals(event.bucket())) {
                record(new ReceivedStorageEvent(kind, event.name(), event.bucket(), key, event.eTag(), event.size(),
                        "ignored: bucket " + event.bucket() + " is not " + storage.bucket()), false);
                continue;
            }
            Pending earlier = latest.remove(key);
            if (earlier != null) {
                record(earlier.received("ignored: superseded by a later event for the same key in this batch"), true);
            }
            latest.put(key, new Pending(event, key, kind, stamp));
        }
        // captions first: an image arriving in the same batch as its sidecar is then accepted with its caption
        List<Pending> ordered = new ArrayList<>();
        latest.values().stream().filter(p -> handler.isCaption(p.key)).forEach(ordered::add);
        int captions = ordered.size();
        latest.values().stream().filter(p -> !handler.isCaption(p.key)).forEach(ordered::add);
        List<CompletableFuture<ObjectHandler.Handled>> futures = new ArrayList<>();
        try {
            for (int i = 0; i < ordered.size(); i++) {
                if (i == captions) {
                    futures.forEach(BatchLoop::join);
                }
                Pending p = ordered.get(i);
                futures.add(handler.handle(p.event, p.key, p.stamp));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while queueing validations", e);
        }
        List<OutgoingEvent> events = new ArrayList<>();
        for (int i = 0; i < ordered.size(); i++) {
            ObjectHandler.Handled handled = join(futures.get(i));
            events.addAll(handled.events());
            record(ordered.get(i).received(handled.outcome()), true);
        }
        return events;
    }

    /** A caption from the captioning service, recorded on its image if the content still matches. */
    private void captioned(String body) {
        ImageCaptioned captioned;
        try {
            captioned = Json.read(body, ImageCaptioned.class);
        } catch (IllegalArgumentException e) {
            LOG.warnf("kiln.images.captioned record ignored: %s", ObjectHandler.printable(e.getMessage()));
            return;
        }
        synchronized (index) {
            ObjectRecord image = index.get(captioned.key());
            if (image == null || !captioned.sha256().equals(image.sha256())) {
                LOG.infof("caption for %s ignored: no image with sha256 %s in the index",
                        ObjectHandler.printable(captioned.key()), captioned.sha256());
                return;
            }
            index.put(image.withGeneratedCaption(captioned.caption(), captioned.source()));
        }
    }

    private S3EventNotification parse(String body) {
        try {
            if (body == null || body.isBlank()) {
                throw new IllegalArgumentException("empty record");
            }
            S3EventNotification event = Json.read(body, S3EventNotification.class);
            event.objectKey(); // a record without a key is as invalid as bad JSON
            return event;
        } catch (IllegalArgumentException e) {
            LOG.warnf("storage event ignored: invalid notification: %s", ObjectHandler.printable(e.getMessage()));
            record(new ReceivedStorageEvent("invalid", null, null, null, null, 0, "ignored: " + e.getMessage()), false);
            return null;
        }
    }

    private record Pending(S3EventNotification event, String key, String kind, String stamp) {
        ReceivedStorageEvent received(String outcome) {
            return new ReceivedStorageEvent(kind, event.name(), event.bucket(), key, event.eTag(), event.size(), outcome);
        }
    }

    private void record(ReceivedStorageEvent event, boolean log) {
        registry.counter(COUNTER, "kind", event.kind()).increment();
        recent.add(event);
        if (log && event.key() != null) {
            LOG.infof("storage event kind=%s name=%s key=\"%s\" etag=%s size=%d outcome=\"%s\"", event.kind(),
                    event.eventName(), ObjectHandler.printable(event.key()), event.eTag(), event.size(),
                    ObjectHandler.printable(event.outcome()));
        }
    }

    private static ObjectHandler.Handled join(CompletableFuture<ObjectHandler.Handled> future) {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while validating", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() instanceof CompletionException c && c.getCause() != null ? c.getCause() : e.getCause();
            throw cause instanceof RuntimeException r ? r : new IllegalStateException(cause.getMessage(), cause);
        }
    }

    private Map<TopicPartition, OffsetAndMetadata> nextOffsets(ConsumerRecords<String, String> records) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (TopicPartition partition : records.partitions()) {
            List<ConsumerRecord<String, String>> part = records.records(partition);
            offsets.put(partition, new OffsetAndMetadata(part.get(part.size() - 1).offset() + 1));
        }
        return offsets;
    }

    private void abort(KafkaProducer<String, String> producer) {
        try {
            producer.abortTransaction();
        } catch (ProducerFencedException e) {
            throw e;
        } catch (RuntimeException e) {
            LOG.warnf("aborting the transaction failed: %s", describe(e));
        }
    }

    private Map<String, Object> consumerConfig() {
        Map<String, Object> c = filtered(ConsumerConfig.configNames());
        c.put(ConsumerConfig.GROUP_ID_CONFIG, config.groupId());
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, config.batchSize());
        c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        c.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "kiln-ingestion-consumer");
        return c;
    }

    private Map<String, Object> producerConfig() {
        Map<String, Object> p = filtered(ProducerConfig.configNames());
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, config.transactionalId());
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "kiln-ingestion-producer");
        return p;
    }

    private Map<String, Object> filtered(java.util.Set<String> names) {
        Map<String, Object> out = new HashMap<>();
        kafkaConfig.forEach((name, value) -> {
            if (names.contains(name)) {
                out.put(name, value);
            }
        });
        return out;
    }

    private static String describe(Throwable e) {
        return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
    }

    private void sleep(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            running = false;
        }
    }
}
