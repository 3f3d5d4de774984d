package dev.kiln.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kiln.model.json.Json;
import dev.kiln.model.notify.S3EventNotification;
import dev.kiln.model.topics.Topics;
import io.minio.MakeBucketArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.RemoveObjectArgs;
import io.minio.SetBucketNotificationArgs;
import io.minio.messages.EventType;
import io.minio.messages.NotificationConfiguration;
import io.minio.messages.QueueConfiguration;
import java.io.ByteArrayInputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.MinIOContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.kafka.KafkaContainer;

/**
 * The docker-compose trigger path for real: MinIO (the compose file's image and {@code MINIO_NOTIFY_KAFKA_*_KILN}
 * settings) publishing bucket notifications to Kafka for the event rules minio-init adds ({@code datasets/} and
 * {@code jobs/}, put and delete), read back as {@link S3EventNotification} with keys decoded exactly once. Runs where
 * a Docker daemon answers; without one (this project's CI box) it is skipped, and the checked-in MinIO payloads in
 * shared-model's tests stand in for it.
 */
class MinioNotificationsContainerTest {
    private static final String KAFKA_IMAGE = "apache/kafka:4.1.0";
    private static final String MINIO_IMAGE = "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z";
    private static final String ARN = "arn:minio:sqs::KILN:kafka";

    @Test
    void minioPublishesPutAndDeleteOfDatasetAndJobKeysToKafka() throws Exception {
        assumeTrue(dockerAvailable(), "no Docker daemon: the MinIO -> Kafka path runs in docker-compose only");
        try (Network network = Network.newNetwork();
             KafkaContainer kafka = new KafkaContainer(KAFKA_IMAGE).withNetwork(network).withListener("kafka:19092")) {
            kafka.start();
            try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.getBootstrapServers()))) {
                admin.createTopics(List.of(new NewTopic(Topics.STORAGE_EVENTS, 6, (short) 1))).all().get();
            }
            try (MinIOContainer minio = new MinIOContainer(MINIO_IMAGE).withNetwork(network)
                    .withEnv("MINIO_NOTIFY_KAFKA_ENABLE_KILN", "on")
                    .withEnv("MINIO_NOTIFY_KAFKA_BROKERS_KILN", "kafka:19092")
                    .withEnv("MINIO_NOTIFY_KAFKA_TOPIC_KILN", Topics.STORAGE_EVENTS)) {
                minio.start();
                MinioClient s3 = MinioClient.builder().endpoint(minio.getS3URL())
                        .credentials(minio.getUserName(), minio.getPassword()).build();
                s3.makeBucket(MakeBucketArgs.builder().bucket("kiln").build());
                List<QueueConfiguration> rules = new ArrayList<>();
                for (String prefix : List.of("datasets/", "jobs/")) {
                    QueueConfiguration rule = new QueueConfiguration();
                    rule.setQueue(ARN);
                    rule.setEvents(List.of(EventType.OBJECT_CREATED_ANY, EventType.OBJECT_REMOVED_ANY));
                    rule.setPrefixRule(prefix);
                    rules.add(rule);
                }
                NotificationConfiguration config = new NotificationConfiguration();
                config.setQueueConfigurationList(rules);
                s3.setBucketNotification(SetBucketNotificationArgs.builder().bucket("kiln").config(config).build());

                String image = "datasets/cats/10_sks cat/a+b %20 ü.png";
                put(s3, "models/not-watched.safetensors");
                put(s3, image);
                put(s3, "jobs/j1/job.toml");
                s3.removeObject(RemoveObjectArgs.builder().bucket("kiln").object(image).build());

                List<S3EventNotification> events = read(kafka.getBootstrapServers(), 4);
                List<String> seen = events.stream().map(e -> e.name() + " " + e.objectKey()).toList();
                assertEquals(java.util.Set.of("s3:ObjectCreated:Put " + image, "s3:ObjectCreated:Put jobs/j1/job.toml",
                        "s3:ObjectRemoved:Delete " + image), new java.util.HashSet<>(seen),
                        "only datasets/ and jobs/, keys decoded once: " + seen);
                assertEquals(3, seen.size(), seen.toString());
                // one key, one partition: the image's put comes before its delete
                assertTrue(seen.indexOf("s3:ObjectCreated:Put " + image) < seen.indexOf("s3:ObjectRemoved:Delete " + image));
                assertTrue(events.stream().allMatch(e -> e.key().equals("kiln/" + e.objectKey())), events.toString());
            }
        }
    }

    private static void put(MinioClient s3, String key) throws Exception {
        byte[] bytes = key.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        s3.putObject(PutObjectArgs.builder().bucket("kiln").object(key)
                .stream(new ByteArrayInputStream(bytes), bytes.length, -1).build());
    }

    /** The notifications on the topic, waiting up to a minute for {@code atLeast} - 1 of them (one must never come). */
    private static List<S3EventNotification> read(String bootstrap, int atLeast) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "minio-notifications-test");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        List<ConsumerRecord<String, String>> records = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
            consumer.subscribe(List.of(Topics.STORAGE_EVENTS));
            long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
            // expect atLeast - 1 events; then poll a little longer so that an unwanted one would show up
            while (records.size() < atLeast - 1 && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(500)).forEach(records::add);
            }
            for (int i = 0; i < 6; i++) {
                consumer.poll(Duration.ofMillis(500)).forEach(records::add);
            }
        }
        return records.stream().map(r -> Json.read(r.value(), S3EventNotification.class)).toList();
    }

    private static boolean dockerAvailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException e) {
            return false;
        }
    }
}
