package dev.kiln.ingestion.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.model.events.EventSchemas;
import dev.kiln.model.json.Json;
import dev.kiln.service.test.TopicWatcher;
import io.smallrye.reactive.messaging.kafka.companion.ConsumerTask;
import io.smallrye.reactive.messaging.kafka.companion.KafkaCompanion;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.common.IsolationLevel;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Ingestion's outcome topics read as a downstream service reads them: {@code read_committed}, so events of a
 * transaction that never committed (a crash mid-batch) are not seen. Every record read is checked against its
 * topic's JSON Schema and CloudEvent header rules.
 */
final class CommittedEvents implements AutoCloseable {
    private final ConsumerTask<String, String> task;

    private CommittedEvents(ConsumerTask<String, String> task) {
        this.task = task;
    }

    static CommittedEvents watch(KafkaCompanion companion, IsolationLevel isolation, String... topics) {
        return new CommittedEvents(companion.consumeStrings()
                .withGroupId("test-outcomes-" + UUID.randomUUID())
                .withOffsetReset(OffsetResetStrategy.EARLIEST)
                .withIsolationLevel(isolation)
                .fromTopics(Set.of(topics)));
    }

    static CommittedEvents watch(KafkaCompanion companion, String... topics) {
        return watch(companion, IsolationLevel.READ_COMMITTED, topics);
    }

    /** Records whose {@code ce_subject} starts with {@code prefix} (an object key prefix or a job id). */
    static Predicate<ConsumerRecord<String, String>> subjectStartsWith(String prefix) {
        return r -> {
            String subject = TopicWatcher.header(r, "ce_subject");
            return subject != null && subject.startsWith(prefix);
        };
    }

    static Predicate<ConsumerRecord<String, String>> subject(String subject) {
        return r -> subject.equals(TopicWatcher.header(r, "ce_subject"));
    }

    static Predicate<ConsumerRecord<String, String>> on(String topic, Predicate<ConsumerRecord<String, String>> match) {
        return r -> r.topic().equals(topic) && match.test(r);
    }

    List<ConsumerRecord<String, String>> matching(Predicate<ConsumerRecord<String, String>> match) {
        List<ConsumerRecord<String, String>> found = new ArrayList<>();
        for (ConsumerRecord<String, String> record : task.getRecords()) {
            if (match.test(record)) {
                found.add(record);
            }
        }
        return found;
    }

    /** Waits until {@code count} records match; each is schema-checked. */
    List<ConsumerRecord<String, String>> await(Predicate<ConsumerRecord<String, String>> match, int count,
                                               Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<ConsumerRecord<String, String>> found = matching(match);
            if (found.size() >= count) {
                found.forEach(CommittedEvents::assertValid);
                return found;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("expected " + count + " matching record(s) within " + timeout + ", found "
                        + found.size() + ": " + found.stream().map(ConsumerRecord::value).toList());
            }
            sleep(100);
        }
    }

    ConsumerRecord<String, String> awaitOne(Predicate<ConsumerRecord<String, String>> match, Duration timeout) {
        return await(match, 1, timeout).get(0);
    }

    static JsonNode body(ConsumerRecord<String, String> record) {
        return Json.read(record.value(), JsonNode.class);
    }

    /** The record's body matches its topic's schema and its headers are a valid Kiln CloudEvent. */
    static void assertValid(ConsumerRecord<String, String> record) {
        assertEquals(List.of(), EventSchemas.validateRecord(record.topic(), TopicWatcher.headers(record), body(record)),
                record.topic() + " " + record.value());
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    @Override
    public void close() {
        task.close();
    }
}
