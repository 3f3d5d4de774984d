package dev.kiln.service.test;

import dev.kiln.model.events.CloudEventAttributes;
import io.smallrye.reactive.messaging.kafka.companion.ConsumerTask;
import io.smallrye.reactive.messaging.kafka.companion.KafkaCompanion;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.common.header.Header;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;

/**
 * Reads a topic from its beginning in the background so a test can wait for the record it expects.
 * Topics are shared by every test of the JVM: match on something unique to the test (key, subject).
 */
public final class TopicWatcher implements AutoCloseable {
    private final String topic;
    private final ConsumerTask<String, String> task;

    private TopicWatcher(String topic, ConsumerTask<String, String> task) {
        this.topic = topic;
        this.task = task;
    }

    /** Starts reading {@code topic} (string keys and values) with a fresh consumer group. */
    public static TopicWatcher watch(KafkaCompanion companion, String topic) {
        return new TopicWatcher(topic, companion.consumeStrings()
                .withGroupId("test-watch-" + UUID.randomUUID())
                .withOffsetReset(OffsetResetStrategy.EARLIEST)
                .fromTopics(topic));
    }

    /** Waits for the first record matching {@code match}; fails naming the topic after {@code timeout}. */
    public ConsumerRecord<String, String> await(Predicate<ConsumerRecord<String, String>> match, Duration timeout) {
        List<ConsumerRecord<String, String>> found = awaitCount(match, 1, timeout);
        return found.get(0);
    }

    /** Waits until {@code count} records match; returns them in topic order. */
    public List<ConsumerRecord<String, String>> awaitCount(Predicate<ConsumerRecord<String, String>> match, int count,
                                                           Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<ConsumerRecord<String, String>> found = matching(match);
            if (found.size() >= count) {
                return found;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("expected " + count + " matching record(s) on " + topic + " within "
                        + timeout + ", found " + found.size() + " of " + task.count() + " read");
            }
            sleep();
        }
    }

    /** The records read so far that match. */
    public List<ConsumerRecord<String, String>> matching(Predicate<ConsumerRecord<String, String>> match) {
        List<ConsumerRecord<String, String>> found = new ArrayList<>();
        for (ConsumerRecord<String, String> record : task.getRecords()) {
            if (match.test(record)) {
                found.add(record);
            }
        }
        return found;
    }

    /** A record's headers decoded as UTF-8 (the last of repeated names wins). */
    public static Map<String, String> headers(ConsumerRecord<?, ?> record) {
        List<Map.Entry<String, byte[]>> entries = new ArrayList<>();
        for (Header header : record.headers()) {
            entries.add(new AbstractMap.SimpleEntry<>(header.key(), header.value()));
        }
        return CloudEventAttributes.decodeHeaders(entries);
    }

    /** One header as UTF-8, or null. */
    public static String header(ConsumerRecord<?, ?> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null || header.value() == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }

    private static void sleep() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while waiting for a record", e);
        }
    }

    @Override
    public void close() {
        task.close();
    }
}
