package dev.kiln.cli.job;

import dev.kiln.model.events.CloudEventAttributes;
import dev.kiln.model.events.ProgressType;
import dev.kiln.model.events.TrainingProgress;
import dev.kiln.model.json.Json;
import dev.kiln.model.topics.Topics;
import java.time.Duration;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

/**
 * Follows one job's events on {@code kiln.training.progress} until its terminal event. It reads by
 * assignment (every partition, no consumer group, nothing committed), so watching never disturbs the
 * services' consumers and any number of watchers can run.
 *
 * <p>Reading from the beginning replays the job's history first. A job name can be submitted again, so a
 * terminal event in that history ends the watch only if no later {@code submitted} event starts a new run.
 */
public final class ProgressWatcher implements AutoCloseable {
    private static final String CE_TYPE = Topics.ceTypeOf(Topics.TRAINING_PROGRESS);
    private static final Duration MAX_POLL = Duration.ofMillis(500);
    /** How long to try reaching Kafka when the caller sets no shorter limit. */
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(15);

    /** Where reading starts. */
    public enum Start {
        /** The topic's first retained record: the job's whole history. */
        BEGINNING,
        /** The end of each partition as of {@link #open}: only what happens afterwards. */
        NOW
    }

    /** Infrastructure that cannot be reached or lacks the progress topic. */
    public static final class UnavailableException extends RuntimeException {
        UnavailableException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final KafkaConsumer<String, byte[]> consumer;
    private final String jobId;
    /** Offsets up to which records are history (replayed), per partition; empty when starting now. */
    private final Map<TopicPartition, Long> historyEnd;

    private ProgressWatcher(KafkaConsumer<String, byte[]> consumer, String jobId, Map<TopicPartition, Long> historyEnd) {
        this.consumer = consumer;
        this.jobId = jobId;
        this.historyEnd = historyEnd;
    }

    /**
     * Connects, assigns every partition of the progress topic and fixes the start position (for
     * {@link Start#NOW}: before this method returns, so that events of a job submitted afterwards are seen).
     *
     * @param timeout the watch's whole time limit, or null: trying to reach Kafka takes no longer than this
     * @throws UnavailableException when Kafka cannot be reached or the topic does not exist
     */
    public static ProgressWatcher open(ConnectionOptions connection, String jobId, Start start, Duration timeout) {
        Duration connectTimeout = timeout != null && timeout.compareTo(CONNECT_TIMEOUT) < 0 ? timeout : CONNECT_TIMEOUT;
        KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(connection.consumerConfig("kiln-watch-" + jobId));
        try {
            List<PartitionInfo> infos = consumer.partitionsFor(Topics.TRAINING_PROGRESS, connectTimeout);
            if (infos == null || infos.isEmpty()) {
                throw new UnavailableException("topic " + Topics.TRAINING_PROGRESS + " does not exist on "
                        + connection.kafkaBootstrap() + " (is the stack running? './kiln up' creates it)", null);
            }
            List<TopicPartition> partitions = infos.stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions, connectTimeout);
            if (start == Start.NOW) {
                end.forEach(consumer::seek);
                return new ProgressWatcher(consumer, jobId, Map.of());
            }
            consumer.seekToBeginning(partitions);
            return new ProgressWatcher(consumer, jobId, Map.copyOf(end));
        } catch (KafkaException e) {
            consumer.close(Duration.ZERO);
            throw new UnavailableException("cannot read " + Topics.TRAINING_PROGRESS + " from Kafka at "
                    + connection.kafkaBootstrap() + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            consumer.close(Duration.ZERO);
            throw e;
        }
    }

    /**
     * Reads until the job's terminal event or {@code timeout}, handing every event of the job to
     * {@code onEvent} and a description of every malformed record of the job to {@code onWarning}.
     *
     * @param timeout how long to wait in all, or null to wait until the terminal event
     * @return the terminal event, or empty on timeout
     */
    public Optional<TrainingProgress> await(Duration timeout, Consumer<TrainingProgress> onEvent,
                                            Consumer<String> onWarning) {
        long deadline = timeout == null ? Long.MAX_VALUE : System.nanoTime() + timeout.toNanos();
        TrainingProgress endOfHistory = null;
        while (true) {
            if (endOfHistory != null && historyRead()) {
                return Optional.of(endOfHistory);
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return Optional.empty();
            }
            for (Map.Entry<ConsumerRecord<String, byte[]>, TrainingProgress> polled : poll(left, onWarning)) {
                ConsumerRecord<String, byte[]> record = polled.getKey();
                TrainingProgress event = polled.getValue();
                if (event.type() == ProgressType.SUBMITTED) {
                    endOfHistory = null; // the job was submitted again: a new run begins
                }
                onEvent.accept(event);
                if (event.type().isTerminal()) {
                    if (!isHistory(record)) {
                        return Optional.of(event);
                    }
                    endOfHistory = event;
                }
            }
        }
    }

    /**
     * Goes on reading the job's events (after {@link #await}, events that come after the terminal one, such as
     * samples rendered from the last checkpoint) until {@code done} accepts one or {@code timeout} passes.
     *
     * @return whether {@code done} accepted an event in time
     */
    public boolean awaitMatching(Duration timeout, Predicate<TrainingProgress> done, Consumer<TrainingProgress> onEvent,
                                 Consumer<String> onWarning) {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (long left = timeout.toNanos(); left > 0; left = deadline - System.nanoTime()) {
            for (Map.Entry<ConsumerRecord<String, byte[]>, TrainingProgress> polled : poll(left, onWarning)) {
                onEvent.accept(polled.getValue());
                if (done.test(polled.getValue())) {
                    return true;
                }
            }
        }
        return false;
    }

    /** One poll of at most {@code maxNanos}: the job's well-formed events, with their records. */
    private List<Map.Entry<ConsumerRecord<String, byte[]>, TrainingProgress>> poll(long maxNanos,
                                                                                 Consumer<String> onWarning) {
        List<Map.Entry<ConsumerRecord<String, byte[]>, TrainingProgress>> out = new ArrayList<>();
        for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofNanos(Math.min(maxNanos,
                MAX_POLL.toNanos())))) {
            if (!jobId.equals(record.key())) {
                continue;
            }
            try {
                out.add(new AbstractMap.SimpleEntry<>(record, decode(record)));
            } catch (IllegalArgumentException e) {
                onWarning.accept("ignoring malformed record " + record.topic() + "-" + record.partition()
                        + " offset " + record.offset() + ": " + e.getMessage());
            }
        }
        return out;
    }

    private boolean isHistory(ConsumerRecord<?, ?> record) {
        Long end = historyEnd.get(new TopicPartition(record.topic(), record.partition()));
        return end != null && record.offset() < end;
    }

    private boolean historyRead() {
        for (Map.Entry<TopicPartition, Long> e : historyEnd.entrySet()) {
            if (consumer.position(e.getKey()) < e.getValue()) {
                return false;
            }
        }
        return true;
    }

    /** The event in a record: CloudEvent headers of the progress type, a valid body for this job. */
    private TrainingProgress decode(ConsumerRecord<String, byte[]> record) {
        List<Map.Entry<String, byte[]>> raw = new ArrayList<>();
        record.headers().forEach(h -> raw.add(new AbstractMap.SimpleEntry<>(h.key(), h.value())));
        Map<String, String> headers = CloudEventAttributes.decodeHeaders(raw);
        List<String> problems = new ArrayList<>(CloudEventAttributes.problems(headers));
        String type = headers.get(CloudEventAttributes.HEADER_TYPE);
        if (type != null && problems.isEmpty() && !type.equals(CE_TYPE)) {
            problems.add("header " + CloudEventAttributes.HEADER_TYPE + " is '" + type + "', expected " + CE_TYPE);
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join("; ", problems));
        }
        if (record.value() == null) {
            throw new IllegalArgumentException("empty body");
        }
        TrainingProgress event = Json.read(record.value(), TrainingProgress.class);
        if (event == null) {
            throw new IllegalArgumentException("body is JSON null");
        }
        if (!jobId.equals(event.jobId())) {
            throw new IllegalArgumentException("body's jobId '" + event.jobId() + "' differs from the record key");
        }
        return event;
    }

    @Override
    public void close() {
        consumer.close(Duration.ofSeconds(1));
    }
}
