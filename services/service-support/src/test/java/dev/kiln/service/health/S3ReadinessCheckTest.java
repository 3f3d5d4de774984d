package dev.kiln.service.health;

import dev.kiln.service.config.TestKilnConfig;
import dev.kiln.service.storage.S3Storage;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ServerSocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Readiness reports S3 DOWN, with the endpoint and without credentials, when the store does not answer. */
class S3ReadinessCheckTest {

    @Test
    void anUnreachableStoreIsDownAndNamesTheEndpoint() throws IOException {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        String endpoint = "http://127.0.0.1:" + closedPort;
        S3Storage storage = new S3Storage(TestKilnConfig.of(endpoint, "health-access", "health-secret", "kiln"));

        HealthCheckResponse response = new S3ReadinessCheck(storage).call();

        assertEquals(HealthCheckResponse.Status.DOWN, response.getStatus());
        var data = response.getData().orElseThrow();
        assertEquals(endpoint, data.get("endpoint"));
        assertEquals("kiln", data.get("bucket"));
        assertTrue(data.get("error").toString().contains("cannot reach"), data.toString());
        assertFalse(data.toString().contains("health-secret"));
        assertFalse(data.toString().contains("health-access"));
    }
}
