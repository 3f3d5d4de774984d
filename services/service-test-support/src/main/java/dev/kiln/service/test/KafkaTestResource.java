package dev.kiln.service.test;

import dev.kiln.infra.kafka.EmbeddedKafka;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.kafka.InjectKafkaCompanion;
import io.smallrye.reactive.messaging.kafka.companion.KafkaCompanion;

import java.time.Duration;
import java.util.Map;

/**
 * Kafka for {@code @QuarkusTest}s: {@code KILN_KAFKA_BOOTSTRAP} when set, else a Testcontainers broker when
 * Docker answers, else an embedded KRaft broker in a child JVM (data under {@code target/test-infra}).
 *
 * <p>One broker per test JVM, shared by every test class; topics and consumer groups outlive a class, so
 * tests use their own keys or topics. Fields annotated {@code @InjectKafkaCompanion} get a
 * {@link KafkaCompanion} on that broker.
 */
public class KafkaTestResource implements QuarkusTestResourceLifecycleManager {
    static final String KAFKA_IMAGE = "apache/kafka:4.1.0";
    private static String bootstrapServers;
    // kept so the broker lives as long as the test JVM; both stop themselves when it exits
    private static Object server;

    private KafkaCompanion companion;

    /** The broker's bootstrap servers, starting it on first use. */
    public static synchronized String bootstrapServers() {
        if (bootstrapServers == null) {
            bootstrapServers = TestInfrastructure.setting("KILN_KAFKA_BOOTSTRAP").map(external -> {
                TestInfrastructure.chosen("Kafka", "external (KILN_KAFKA_BOOTSTRAP)", external);
                return external;
            }).orElseGet(KafkaTestResource::startServer);
        }
        return bootstrapServers;
    }

    private static String startServer() {
        if (TestInfrastructure.dockerAvailable()) {
            var container = new org.testcontainers.kafka.KafkaContainer(KAFKA_IMAGE);
            container.start();
            server = container;
            TestInfrastructure.chosen("Kafka", "Testcontainers " + KAFKA_IMAGE, container.getBootstrapServers());
            return container.getBootstrapServers();
        }
        EmbeddedKafka embedded = EmbeddedKafka.start(TestInfrastructure.dataDir("kafka"));
        server = embedded;
        TestInfrastructure.chosen("Kafka", "embedded broker (pid " + embedded.pid() + ")", embedded.bootstrapServers());
        return embedded.bootstrapServers();
    }

    /** Creates the topics (if missing) and waits until they exist. */
    public static void createTopics(int partitions, String... topics) {
        try (KafkaCompanion admin = new KafkaCompanion(bootstrapServers())) {
            var existing = admin.topics().list();
            for (String topic : topics) {
                if (!existing.contains(topic)) {
                    admin.topics().createAndWait(topic, partitions, Duration.ofSeconds(30));
                }
            }
        }
    }

    @Override
    public Map<String, String> start() {
        return Map.of("kafka.bootstrap.servers", bootstrapServers());
    }

    @Override
    public void inject(TestInjector injector) {
        if (companion == null) {
            companion = new KafkaCompanion(bootstrapServers());
        }
        injector.injectIntoFields(companion,
                new TestInjector.AnnotatedAndMatchesType(InjectKafkaCompanion.class, KafkaCompanion.class));
    }

    @Override
    public void stop() {
        // the broker stays up for the next test class; only this resource's client goes
        if (companion != null) {
            companion.close();
            companion = null;
        }
    }
}
