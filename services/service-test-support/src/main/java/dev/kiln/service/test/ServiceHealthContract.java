package dev.kiln.service.test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.test.common.http.TestHTTPResourceManager;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * What every Kiln service promises at its HTTP port: readiness that is UP only when Kafka and S3 answer,
 * and Prometheus metrics. Each service's test extends this with {@code @QuarkusTest} and the Kafka and S3
 * test resources.
 */
public abstract class ServiceHealthContract {
    private static final Duration READY_WITHIN = Duration.ofSeconds(60);
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    protected static HttpResponse<String> httpGet(String path) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create(TestHTTPResourceManager.getUri() + path))
                .timeout(Duration.ofSeconds(20)).GET().build();
        return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void readinessIsUpWhenKafkaAndS3Answer() throws Exception {
        // the first probes may find the clients still connecting (slow on a loaded machine): poll, bounded
        long deadline = System.nanoTime() + READY_WITHIN.toNanos();
        HttpResponse<String> response = httpGet("/q/health/ready");
        while (response.statusCode() != 200 && System.nanoTime() < deadline) {
            Thread.sleep(500);
            response = httpGet("/q/health/ready");
        }
        JsonNode health = new ObjectMapper().readTree(response.body());
        assertEquals(200, response.statusCode(), response.body());
        assertEquals("UP", health.path("status").asText(), response.body());

        JsonNode kafka = check(health, "Kafka");
        assertEquals("UP", kafka.path("status").asText(), response.body());
        assertEquals(KafkaTestResource.bootstrapServers(), kafka.path("data").path("bootstrap").asText());

        JsonNode s3 = check(health, "S3");
        assertEquals("UP", s3.path("status").asText(), response.body());
        assertEquals(S3TestResource.server().endpoint(), s3.path("data").path("endpoint").asText());
        assertEquals(S3TestResource.bucket(), s3.path("data").path("bucket").asText());

        assertFalse(response.body().contains(S3TestResource.server().secretKey()), "secret key in health output");
        assertFalse(response.body().contains(S3TestResource.server().accessKey()), "access key in health output");
    }

    @Test
    void prometheusMetricsAreServed() throws Exception {
        HttpResponse<String> response = httpGet("/q/metrics");
        assertEquals(200, response.statusCode());
        assertTrue(response.body().contains("# TYPE jvm_memory_used_bytes gauge"), "no JVM metrics in /q/metrics");
        assertFalse(response.body().contains(S3TestResource.server().secretKey()), "secret key in metrics");
    }

    private static JsonNode check(JsonNode health, String name) {
        for (JsonNode check : health.path("checks")) {
            if (name.equals(check.path("name").asText())) {
                return check;
            }
        }
        return fail("no readiness check named " + name + " in " + health);
    }
}
