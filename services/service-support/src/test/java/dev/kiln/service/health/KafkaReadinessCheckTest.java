package dev.kiln.service.health;

import org.eclipse.microprofile.health.HealthCheckResponse;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ServerSocket;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Readiness reports Kafka DOWN, with the bootstrap servers and without credentials, when no broker answers. */
class KafkaReadinessCheckTest {

    @Test
    void anUnreachableBrokerIsDownWithinTheTimeout() throws IOException {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        String bootstrap = "127.0.0.1:" + closedPort;
        String jaas = "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"kafka-secret\";";
        KafkaReadinessCheck check = new KafkaReadinessCheck(Map.of("bootstrap.servers", bootstrap,
                "sasl.jaas.config", jaas, "group.id", "not-an-admin-setting"));
        try {
            long start = System.nanoTime();
            HealthCheckResponse response = check.call();
            long millis = (System.nanoTime() - start) / 1_000_000;

            assertEquals(HealthCheckResponse.Status.DOWN, response.getStatus());
            var data = response.getData().orElseThrow();
            assertEquals(bootstrap, data.get("bootstrap"));
            assertTrue(data.containsKey("error"), data.toString());
            assertFalse(data.toString().contains("kafka-secret"));
            assertTrue(millis < 10_000, "bounded by the 3 s timeout, not the 60 s default; took " + millis + " ms");
        } finally {
            check.close();
        }
    }

    @Test
    void missingBootstrapServersAreReported() {
        HealthCheckResponse response = new KafkaReadinessCheck(Map.of()).call();
        assertEquals(HealthCheckResponse.Status.DOWN, response.getStatus());
        assertTrue(response.getData().orElseThrow().get("error").toString().contains("KILN_KAFKA_BOOTSTRAP"));
    }
}
