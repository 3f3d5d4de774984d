package dev.kiln.worker.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.kiln.infra.kafka.EmbeddedKafka;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The loop on a real broker: work that takes several times {@code max.poll.interval.ms} keeps the consumer in its
 * group (each record handled once, offsets committed), and a batch the work hands back is delivered again.
 */
class PausingConsumerLoopTest {
    private static EmbeddedKafka kafka;

    @BeforeAll
    static void broker() throws Exception {
        kafka = EmbeddedKafka.start(Path.of("target", "test-kafka-" + System.nanoTime()));
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic("slow", 2, (short) 1), new NewTopic("again", 1, (short) 1)))
                    .all().get(30, TimeUnit.SECONDS);
        }
    }

    @AfterAll
    static void stop() throws Exception {
        kafka.close();
    }

    private static Properties properties(String group) {
        Properties props = PausingConsumerLoop.properties(group, 1);
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        props.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, "2000");
        props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "6000");
        props.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "500");
        return props;
    }

    private static void send(String topic, String... values) throws Exception {
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName(),
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName()))) {
            for (String v : values) {
                producer.send(new ProducerRecord<>(topic, v, v)).get();
            }
        }
    }

    private static void await(java.util.function.BooleanSupplier done, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
    }

    @Test
    void workLongerThanThePollIntervalKeepsTheGroupAndHandlesEachRecordOnce() throws Exception {
        List<String> handled = new CopyOnWriteArrayList<>();
        PausingConsumerLoop loop = new PausingConsumerLoop("slow-test", properties("slow-group"), List.of("slow"),
                records -> {
                    Thread.sleep(5000); // 2.5 x max.poll.interval.ms
                    records.forEach(r -> handled.add(r.value()));
                    return PausingConsumerLoop.Outcome.COMMIT;
                }, Duration.ofSeconds(10));
        send("slow", "a", "b");
        loop.start();
        try {
            await(() -> handled.size() >= 2, Duration.ofSeconds(60));
            Thread.sleep(3000); // a consumer thrown out of the group would get its uncommitted records again
        } finally {
            loop.stop();
        }
        assertEquals(2, handled.size(), "each record once: " + handled);
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets("slow-group")
                    .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
            assertEquals(2, committed.values().stream().mapToLong(OffsetAndMetadata::offset).sum(), committed.toString());
        }
    }

    @Test
    void aBatchHandedBackIsDeliveredAgain() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        List<String> committed = new CopyOnWriteArrayList<>();
        PausingConsumerLoop loop = new PausingConsumerLoop("again-test", properties("again-group"), List.of("again"),
                records -> {
                    if (calls.incrementAndGet() == 1) {
                        return PausingConsumerLoop.Outcome.REDELIVER;
                    }
                    records.forEach(r -> committed.add(r.value()));
                    return PausingConsumerLoop.Outcome.COMMIT;
                }, Duration.ofSeconds(10));
        send("again", "x");
        loop.start();
        try {
            await(() -> !committed.isEmpty(), Duration.ofSeconds(60));
        } finally {
            loop.stop();
        }
        assertEquals(List.of("x"), committed);
        assertEquals(2, calls.get(), "handed back once, then handled");
    }
}
